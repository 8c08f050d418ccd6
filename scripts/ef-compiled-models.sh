#!/usr/bin/env bash
# Regenerates the EF Core compiled models of every DbContext the server and the signer build at start (issue 19,
# target 6: no model building, ~700 fewer JIT-compiled methods before the first request). Run it after any change
# to MetadataDbContext, KeyDbContext or a provider context (with the new migration); the test
# CompiledModelTests (tests/TrustServer.Data.Tests) fails until the compiled models match the code.
#
#   scripts/ef-compiled-models.sh
#
# Needs dotnet-ef of the EF Core version in Directory.Packages.props:
#   dotnet tool install --global dotnet-ef --version 10.0.15
# The generated DbContextModel assembly attributes are deleted: the contexts name their compiled model with
# UseModel(...) in their Configure method, and design-time tools (migrations add, this script) build the model
# from the code.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-ef >/dev/null 2>&1 || { echo "ef-compiled-models.sh: dotnet-ef is not installed (dotnet tool install --global dotnet-ef --version 10.0.15)" >&2; exit 1; }

# project, context, output directory (relative to the project), namespace
models=(
  "src/TrustServer.Data PostgresMetadataDbContext CompiledModels/Postgres TrustServer.Data.CompiledModels.Postgres"
  "src/TrustServer.Data SqliteMetadataDbContext CompiledModels/Sqlite TrustServer.Data.CompiledModels.Sqlite"
  "src/TrustServer.Signing PostgresKeyDbContext Keys/CompiledModels/Postgres TrustServer.Signing.Keys.CompiledModels.Postgres"
  "src/TrustServer.Signing SqliteKeyDbContext Keys/CompiledModels/Sqlite TrustServer.Signing.Keys.CompiledModels.Sqlite"
)

built=""
for model in "${models[@]}"; do
  read -r project context output namespace <<<"$model"
  # Each project is built once (the first of its contexts), the next context reuses that build.
  no_build=()
  case " $built " in *" $project "*) no_build=(--no-build) ;; esac
  (cd "$project" && dotnet ef dbcontext optimize "${no_build[@]}" --context "$context" --output-dir "$output" --namespace "$namespace")
  built="$built $project"
  rm -f "$project/$output/${context}AssemblyAttributes.cs"
done
