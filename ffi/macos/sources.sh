# The macOS DriverKit path's C sources (relative to ffi/) and link flags, for ffi/build.sh's darwin targets
# and for build-check.sh: `source ffi/macos/sources.sh`, then add "${ISCSI_DARWIN_SOURCES[@]}" to the sources
# and "${ISCSI_DARWIN_LINK[@]}" to the link line. On a Mac the real SDK supplies IOKit and libSystem.
# shellcheck disable=SC2034
ISCSI_DARWIN_SOURCES=(hba_bridge.c hba_bridge_targets.c hba_arena.c hba_local.c macos/iokit_client.c)
# shellcheck disable=SC2034
ISCSI_DARWIN_LINK=(-framework IOKit)
