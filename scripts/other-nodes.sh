#!/usr/bin/env bash
# Runs the e2e vitest project and the MCP conformance suite again on other Node majors (default: 22 and
# 24; override with OTHER_NODES="22 24"), after the main run on the system Node. Each Node comes from the
# npm package `node@<major>` (npm's npx cache, so a second run needs no download) and is put first on
# PATH, so the test runner, the built CLI (spawned with process.execPath) and the MCP servers behind it
# (`node …`, process.execPath) all run on it. Needs a build (apps/server/dist) and the installed
# workspace. Reports, next to the system Node's: reports/vitest-e2e-node<N>.json and
# reports/conformance-node<N>.json (scripts/test-summary.mjs sums them). A Node that cannot be obtained,
# and a leg that ends without its report, each count as one failure there. Exits non-zero if any leg
# failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
mkdir -p reports

status=0
results=()

# Counts a leg that produced no report as one failure in the summary, so it cannot read as green.
missing_report() { # file reason
  [ -f "$1" ] && return 0
  printf '{"passed":0,"failed":1,"skipped":0,"error":"%s"}\n' "$2" >"$1"
}

for major in ${OTHER_NODES:-22 24}; do
  echo
  echo "=== other-nodes: Node $major"
  # From a neutral directory, so no node_modules/.bin of the workspace shadows the package's `node`.
  bin=$(cd "${TMPDIR:-/tmp}" && npm exec --yes --prefer-offline --package="node@$major" -- \
    node -p 'require("fs").realpathSync(process.execPath)' 2>/dev/null | tail -n 1)
  version=$([ -n "$bin" ] && [ -x "$bin" ] && "$bin" --version 2>/dev/null)
  case "$version" in
    "v$major".*) ;;
    *)
      echo "other-nodes: FAILED: could not obtain Node $major from npm (npm exec --package=node@$major gave '${bin:-nothing}', version '${version:-none}'); its e2e and conformance legs did not run"
      missing_report "reports/other-nodes-node$major-unavailable.json" "Node $major could not be obtained from npm"
      results+=("Node $major: FAILED (binary unavailable)")
      status=1
      continue
      ;;
  esac
  echo "other-nodes: Node $version at $bin"
  path="$(dirname "$bin"):$PATH"

  start=$SECONDS
  e2e_report="reports/vitest-e2e-node$major.json"
  rm -f "$e2e_report"
  # The root config's reporters (default, json): VITEST_JSON_REPORT moves the json one off reports/vitest.json
  # (a CLI --outputFile would not: the config's own outputFile option wins).
  PATH=$path VITEST_JSON_REPORT="$e2e_report" "$bin" node_modules/vitest/vitest.mjs run --project e2e
  code=$?
  missing_report "$e2e_report" "the e2e run on Node $major wrote no report (exit $code)"
  e2e_time=$((SECONDS - start))
  if [ $code -eq 0 ]; then e2e_result=passed; else e2e_result="FAILED (exit $code)"; status=1; fi
  results+=("Node $version e2e: $e2e_result in ${e2e_time} s")

  start=$SECONDS
  conformance_report="reports/conformance-node$major.json"
  rm -f "$conformance_report"
  PATH=$path CONFORMANCE_REPORT_SUFFIX="-node$major" "$bin" conformance/run.mjs
  code=$?
  missing_report "$conformance_report" "the conformance run on Node $major wrote no report (exit $code)"
  conformance_time=$((SECONDS - start))
  if [ $code -eq 0 ]; then conformance_result=passed; else conformance_result="FAILED (exit $code)"; status=1; fi
  results+=("Node $version conformance: $conformance_result in ${conformance_time} s")
done

echo
echo "=== other-nodes summary ($ROOT)"
for line in "${results[@]}"; do echo "$line"; done
exit $status
