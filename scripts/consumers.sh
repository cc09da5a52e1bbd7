#!/usr/bin/env bash
# Real consumers of patrol, run on generated repositories holding FAKE tokens
# (examples/sample_token.rs):
#   sarif      Microsoft's SARIF Multitool (npm @microsoft/sarif-multitool) validates a scan's
#              SARIF under its Sarif, Gh and Ado rule kinds: no error allowed (Ado with the
#              Azure Pipelines build variables set, as in a pipeline)
#   precommit  the pre-commit framework (PyPI pre-commit) runs both hooks of
#              .pre-commit-hooks.yaml (language: rust builds patrol from this checkout's HEAD;
#              language: system uses the built binary): a clean commit passes, a commit adding
#              a token is blocked and the output says the three ways to go on
#   github     the run: steps of action.yml on a fake pull request (GITHUB_* set, the job
#              summary in a temp file), and on one that hides its token (patrol.toml,
#              baseline, patrol:allow), which must fail all the same
#   azure      the script steps of templates/patrol.yml on the same fake PR builds (SYSTEM_*/BUILD_*)
#
#   scripts/consumers.sh [sarif|precommit|github|azure]...   (default: all four)
#
# Needs cargo, git, node/npm and python3; installs the tools under target/consumers/ (reused
# on the next run). Reuses the release build in $CARGO_TARGET_DIR (default target/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TOOLS=$CARGO_TARGET_DIR/consumers
MULTITOOL_VERSION=5.7.0
PRE_COMMIT_VERSION=4.7.0
checks=("$@")
[ ${#checks[@]} -gt 0 ] || checks=(sarif precommit github azure)

say() { printf '\n--> consumers: %s\n' "$*"; }
fail() { printf 'consumers: FAILED: %s\n' "$*" >&2; exit 1; }
timed() { local t0=$SECONDS; "$@"; echo "consumers: $1 took $((SECONDS - t0)) s"; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export GIT_AUTHOR_NAME="Test Author" GIT_AUTHOR_EMAIL=author@example.com
export GIT_COMMITTER_NAME="Test Author" GIT_COMMITTER_EMAIL=author@example.com
export GIT_CONFIG_NOSYSTEM=1

say "building patrol (release) and the fake-token generator"
cargo build --release --locked --quiet --bin patrol --example sample_token
BIN=$CARGO_TARGET_DIR/release
token() { "$BIN/examples/sample_token" "$@"; }

# A repository with `main` (clean) and a pull-request branch `feature` whose one commit adds an
# Azure DevOps PAT; refs/remotes/origin/main stands for the fetched target branch. With
# `hostile`, the same commit also tries to hide its token: a `patrol:allow` marker on its line,
# a patrol.toml excluding every path and a baseline accepting it (issue #26).
pr_repo() {
  local dir=$1 hostile=${2:-}
  git init -q -b main "$dir"
  printf 'hello\n' >"$dir/README.md"
  git -C "$dir" add README.md && git -C "$dir" commit -qm init
  git -C "$dir" update-ref refs/remotes/origin/main main
  git -C "$dir" checkout -q -b feature
  mkdir -p "$dir/deploy"
  printf 'export AZURE_DEVOPS_EXT_PAT=%s\n' "$(token azure_devops.pat 41)" >"$dir/deploy/ci.sh"
  if [ "$hostile" = hostile ]; then
    printf 'export AZURE_DEVOPS_EXT_PAT=%s # patrol:allow\n' "$(token azure_devops.pat 41)" >"$dir/deploy/ci.sh"
    printf 'exclude = ["**"]\n' >"$dir/patrol.toml"
    (cd "$dir" && "$BIN/patrol" baseline create . --no-inline-allow --config /dev/null --output patrol-baseline.json >/dev/null 2>&1) || true
    git -C "$dir" add patrol.toml patrol-baseline.json
  fi
  git -C "$dir" add deploy && git -C "$dir" commit -qm "ci: deploy script"
}

python_tools() {
  if [ ! -x "$TOOLS/venv/bin/pre-commit" ]; then
    python3 -m venv "$TOOLS/venv"
    "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$PRE_COMMIT_VERSION"
  fi
  PY=$TOOLS/venv/bin/python # has PyYAML (a pre-commit dependency) for ci_steps.py
}

check_sarif() {
  local mt_dir=$TOOLS/npm
  if [ ! -x "$mt_dir/node_modules/.bin/sarif-multitool" ]; then
    npm install --silent --no-audit --no-fund --prefix "$mt_dir" "@microsoft/sarif-multitool@$MULTITOOL_VERSION"
  fi
  # npm does not run the package's postinstall (chmod) here; do what it would.
  chmod u+x "$mt_dir"/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
  local mt=$mt_dir/node_modules/.bin/sarif-multitool
  local tree=$WORK/sarif-tree
  mkdir -p "$tree/src" "$tree/odd dir"
  printf 'pat = "%s"\n' "$(token azure_devops.pat 3)" >"$tree/src/config.toml"
  printf 'see %s\n' "$(token azure_devops.pat 3)" >"$tree/README.md"
  printf 'GITHUB_TOKEN=%s\n' "$(token github.pat_classic 4)" >"$tree/odd dir/.env, \"q\""
  printf '//registry.npmjs.org/:_authToken=%s\n' "$(token npm.token 5)" >"$tree/.npmrc"
  (cd "$tree" && "$BIN/patrol" scan . --history none --no-progress --format sarif --output "$WORK/plain.sarif") || [ $? -eq 1 ]
  (cd "$tree" && env TF_BUILD=True SYSTEM_COLLECTIONURI=https://dev.azure.com/fabrikam/ \
      SYSTEM_TEAMPROJECT=Web SYSTEM_DEFINITIONID=12 BUILD_DEFINITIONNAME="web ci" \
      SYSTEM_PHASEID=3dc8fd7e-4368-5a92-293e-d53cefc8c4c3 SYSTEM_PHASENAME=Job_1 \
      BUILD_SOURCEBRANCH=refs/heads/main BUILD_BUILDID=345 \
      "$BIN/patrol" scan . --history none --no-progress --format sarif --output "$WORK/pipeline.sarif") || [ $? -eq 1 ]
  local bad=0 log kind
  for job in plain:Sarif plain:Gh pipeline:Sarif pipeline:Gh pipeline:Ado; do
    log=${job%%:*} kind=${job##*:}
    "$mt" validate "$WORK/$log.sarif" --output "$WORK/$log-$kind.out.sarif" --log ForceOverwrite \
      --rule-kind "$kind" >"$WORK/$log-$kind.txt" 2>&1 || true
    # The Multitool exits 0 even when it reports errors: count them in its own SARIF output.
    local counts
    counts=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rs = [r for run in d["runs"] for r in run.get("results", [])]
print(sum(r.get("level", "warning") == "error" for r in rs), sum(r.get("level", "warning") == "warning" for r in rs))
' "$WORK/$log-$kind.out.sarif") || fail "Multitool wrote no readable output for $log/$kind: $(cat "$WORK/$log-$kind.txt")"
    echo "consumers: sarif-multitool $MULTITOOL_VERSION --rule-kind $kind on $log.sarif: ${counts% *} error(s), ${counts#* } warning(s)"
    grep -E ': (error|warning) ' "$WORK/$log-$kind.txt" || true
    [ "${counts% *}" = 0 ] || bad=1
  done
  [ $bad = 0 ] || fail "the SARIF Multitool reported errors"
}

check_precommit() {
  python_tools
  local repo=$WORK/hooks-repo rev
  rev=$(git rev-parse HEAD)
  if [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock .pre-commit-hooks.yaml)" ]; then
    echo "consumers: note: uncommitted changes; the pre-commit hooks use HEAD ($rev)"
  fi
  git init -q -b main "$repo"
  cat >"$repo/.pre-commit-config.yaml" <<EOF
repos:
  - repo: $ROOT
    rev: $rev
    hooks:
      - id: patrol
      - id: patrol-system
EOF
  export PRE_COMMIT_HOME=$WORK/pre-commit-home
  # patrol-system (language: system) finds patrol on PATH; the rust hook builds its own
  # with `cargo install` into pre-commit's environment, sharing $CARGO_TARGET_DIR.
  local path=$BIN:$PATH
  (cd "$repo" && PATH=$path "$TOOLS/venv/bin/pre-commit" install >/dev/null)
  printf 'hello\n' >"$repo/README.md"
  git -C "$repo" add README.md .pre-commit-config.yaml
  local out
  if ! out=$(cd "$repo" && PATH=$path git commit -qm clean 2>&1); then
    fail "pre-commit blocked a clean commit: $out"
  fi
  echo "$out"
  echo "consumers: pre-commit (patrol, patrol-system): a clean commit passes"
  local secret
  secret=$(token azure_devops.pat 42)
  printf 'PAT=%s\n' "$secret" >"$repo/settings.env"
  git -C "$repo" add settings.env
  if out=$(cd "$repo" && PATH=$path git commit -qm "add settings" 2>&1); then
    fail "pre-commit let a commit with a token through: $out"
  fi
  echo "$out"
  [ "$(grep -c 'Failed' <<<"$out")" -ge 2 ] || fail "both hooks should fail: $out"
  for way in "Remove the secret" "patrol:allow" "git commit --no-verify"; do
    [ "$(grep -cF -- "$way" <<<"$out")" -ge 2 ] || fail "each hook should print \"$way\": $out"
  done
  ! grep -qF -- "$secret" <<<"$out" || fail "the hook output holds the whole secret"
  git -C "$repo" log --oneline | grep -q "add settings" && fail "the commit was made"
  echo "consumers: pre-commit (patrol, patrol-system): a commit adding a token is blocked, with the three ways to go on"
}

check_github() {
  python_tools
  local repo=$WORK/gh-repo summary=$WORK/gh-summary.md
  pr_repo "$repo"
  : >"$summary"
  mkdir -p "$WORK/gh-runner"
  local out code=0
  out=$(cd "$repo" && env GITHUB_ACTIONS=true GITHUB_EVENT_NAME=pull_request GITHUB_BASE_REF=main \
      GITHUB_HEAD_REF=feature GITHUB_REPOSITORY=octo/demo GITHUB_SHA="$(git rev-parse HEAD)" \
      GITHUB_STEP_SUMMARY="$summary" RUNNER_TEMP="$WORK/gh-runner" \
      "$PY" "$ROOT/scripts/ci_steps.py" github "$ROOT/action.yml" \
      --set github.action_path="$ROOT" 2>&1) || code=$?
  echo "$out"
  [ "$code" = 1 ] || fail "the action should fail the job on the PR's token (exit $code)"
  grep -q 'install patrol: exit 0' <<<"$out" || fail "the install step did not run"
  grep -q '::error title=patrol::secrets found' <<<"$out" || fail "no error annotation"
  grep -q 'secret(s) found' "$summary" || fail "the job summary has no findings: $(cat "$summary")"
  grep -qF 'deploy\/ci\.sh' "$summary" || fail "the job summary does not name the file"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"][0]["results"]) == 1, d' \
    "$repo/patrol.sarif" || fail "patrol.sarif should hold the PR's one finding"
  # The same action on the base branch alone: nothing to report, the job passes.
  git -C "$repo" checkout -q main
  : >"$summary"
  (cd "$repo" && env PATH="$BIN:$PATH" GITHUB_BASE_REF=main GITHUB_STEP_SUMMARY="$summary" RUNNER_TEMP="$WORK/gh-runner" \
      "$PY" "$ROOT/scripts/ci_steps.py" github "$ROOT/action.yml" --set github.action_path="$ROOT" \
      --set inputs.install=false) >/dev/null 2>&1 || fail "the action failed on a clean PR"
  grep -q 'No secrets found' "$summary" || fail "clean summary: $(cat "$summary")"
  # A PR that adds its token with an allow marker, `exclude = ["**"]` and a baseline accepting
  # it still fails: those are read from the base, and inline markers are off.
  local hostile=$WORK/gh-hostile
  pr_repo "$hostile" hostile
  (cd "$hostile" && "$BIN/patrol" scan . --no-progress >/dev/null 2>&1) || fail "the hostile PR does not hide its token from a plain scan"
  code=0
  out=$(cd "$hostile" && env PATH="$BIN:$PATH" GITHUB_BASE_REF=main GITHUB_STEP_SUMMARY="$summary" RUNNER_TEMP="$WORK/gh-runner" \
      "$PY" "$ROOT/scripts/ci_steps.py" github "$ROOT/action.yml" --set github.action_path="$ROOT" \
      --set inputs.install=false --set inputs.baseline=patrol-baseline.json 2>&1) || code=$?
  echo "$out"
  [ "$code" = 1 ] || fail "a PR hiding its token with patrol.toml, a baseline and patrol:allow passed (exit $code)"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"][0]["results"]) == 1, d' \
    "$hostile/patrol.sarif" || fail "patrol.sarif should hold the hostile PR's one finding"
  echo "consumers: action.yml: a PR adding a token fails with SARIF and a job summary; a clean one passes; one hiding its token still fails"
}

check_azure() {
  python_tools
  local repo=$WORK/az-repo staging=$WORK/az-staging agent=$WORK/az-temp
  pr_repo "$repo"
  mkdir -p "$staging" "$agent"
  local out code=0
  out=$(cd "$repo" && env TF_BUILD=True BUILD_REASON=PullRequest \
      SYSTEM_PULLREQUEST_TARGETBRANCH=refs/heads/main SYSTEM_COLLECTIONURI=https://dev.azure.com/fabrikam/ \
      SYSTEM_TEAMPROJECT=Web SYSTEM_DEFINITIONID=12 BUILD_DEFINITIONNAME="web ci" \
      SYSTEM_PHASEID=3dc8fd7e-4368-5a92-293e-d53cefc8c4c3 SYSTEM_PHASENAME=Job_1 \
      BUILD_SOURCEBRANCH=refs/pull/7/merge BUILD_BUILDID=345 \
      BUILD_ARTIFACTSTAGINGDIRECTORY="$staging" AGENT_TEMPDIRECTORY="$agent" \
      "$PY" "$ROOT/scripts/ci_steps.py" azure "$ROOT/templates/patrol.yml" \
      --set parameters.installCommand="cargo install --locked --quiet --path $ROOT --root $WORK/az-install && echo '##vso[task.prependpath]$WORK/az-install/bin'" 2>&1) || code=$?
  echo "$out"
  [ "$code" = 1 ] || fail "the template should fail the job on the PR's token (exit $code)"
  grep -q '^##vso\[task.uploadsummary\]' <<<"$out" || fail "no uploadsummary command"
  grep -q '^##vso\[task.logissue type=error\]patrol: new secrets found' <<<"$out" || fail "no error issue"
  grep -q 'secret(s) found' "$agent/patrol-summary.md" || fail "the summary has no findings"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); a=d["runs"][0]["automationDetails"]["id"]; assert a.startswith("azuredevops/pipeline/build/fabrikam/Web/12/"), a; assert len(d["runs"][0]["results"]) == 1' \
    "$staging/CodeAnalysisLogs/patrol.sarif" || fail "CodeAnalysisLogs/patrol.sarif is wrong"
  # The PR hiding its token (patrol.toml, baseline, allow marker) still fails.
  local hostile=$WORK/az-hostile
  pr_repo "$hostile" hostile
  rm -rf "$staging/CodeAnalysisLogs"
  code=0
  out=$(cd "$hostile" && env PATH="$BIN:$PATH" TF_BUILD=True BUILD_REASON=PullRequest \
      SYSTEM_PULLREQUEST_TARGETBRANCH=refs/heads/main \
      BUILD_ARTIFACTSTAGINGDIRECTORY="$staging" AGENT_TEMPDIRECTORY="$agent" \
      "$PY" "$ROOT/scripts/ci_steps.py" azure "$ROOT/templates/patrol.yml" \
      --set parameters.installCommand= --set parameters.baseline=patrol-baseline.json 2>&1) || code=$?
  echo "$out"
  [ "$code" = 1 ] || fail "a PR hiding its token with patrol.toml, a baseline and patrol:allow passed (exit $code)"
  "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d["runs"][0]["results"]) == 1, d' \
    "$staging/CodeAnalysisLogs/patrol.sarif" || fail "CodeAnalysisLogs/patrol.sarif should hold the hostile PR's one finding"
  echo "consumers: templates/patrol.yml: a PR adding a token fails, SARIF in CodeAnalysisLogs with the build's identity, summary uploaded; one hiding its token still fails"
}

for c in "${checks[@]}"; do
  case "$c" in
    sarif | precommit | github | azure) say "$c"; timed "check_$c" ;;
    *) fail "unknown check $c (sarif, precommit, github, azure)" ;;
  esac
done
echo "consumers: all passed (${checks[*]})"
