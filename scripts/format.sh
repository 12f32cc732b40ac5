#!/usr/bin/env bash
# Formats the whole tree in place: Biome for TypeScript, JavaScript, JSON and CSS (biome.jsonc), clang-format
# for the C, C++ and header files git tracks under ffi/, driver/, bench/ and test/ (.clang-format).
# `.ci/run` checks both (`biome format .` and `clang-format --dry-run -Werror`) along with `bun run lint`.
set -euo pipefail
cd "$(dirname "$0")/.."

node_modules/.bin/biome format --write .
git ls-files -z -- ffi driver bench test | grep -z -E '\.(c|h|cpp|m)$' | xargs -0 -r clang-format -i
