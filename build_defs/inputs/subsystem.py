"""Options of the artifact store the input rules read pinned files from."""

from __future__ import annotations

from pants.option.option_types import StrOption
from pants.option.subsystem import Subsystem
from pants.util.strutil import softwrap


class ArtifactStore(Subsystem):
    options_scope = "artifact-store"
    help = softwrap(
        """
        The content-addressed store that `./pants` fills and verifies before Pants starts
        (see `build_defs/bootstrap/store.py`). Rules read pinned files (source archives,
        native library wheels) from its `files/` directory and Pants checks each one's
        sha256 and size again as it enters the build.
        """
    )

    root = StrOption(
        default=None,
        help="Directory of the store; `./pants` exports it as NUMPY_RELEASE_STORE.",
    )
    manifest = StrOption(
        default="3rdparty/artifacts.json",
        help=softwrap(
            """
            The manifest `./pants` fills the store from (relative to the build root). Rules
            read from it only what the graph cannot say: the signed Debian index each Debian
            set was pinned from, which a wheel's provenance records.
            """
        ),
    )
