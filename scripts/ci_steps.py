#!/usr/bin/env python3
"""Runs the shell steps of patrol's CI integrations on this machine, as their runners would.

    ci_steps.py github action.yml   --set inputs.base=... [--set NAME=VALUE]...
    ci_steps.py azure  templates/patrol.yml --set parameters.failOnFindings=True ...

Used by scripts/consumers.sh. It reads the YAML (PyYAML, which pre-commit brings), replaces
each `${{ EXPR }}` with the value given by --set (an unknown expression is an error, so a new
one cannot slip by untested), and runs every `run:` (GitHub composite action) or `bash:`
(Azure Pipelines template) step with bash, in order, in the current directory and
environment. What the runner would do around the steps is done too: GitHub's
`$GITHUB_OUTPUT` (for `steps.<id>.outputs.<name>`), `$GITHUB_PATH` and `if:` conditions
(`always()`, `inputs.X == 'v'`, joined by `&&`); Azure's `##vso[task.setvariable]` (an
environment variable for later steps), `##vso[task.prependpath]`, `##vso[task.uploadsummary]` (printed, and the file must
exist) and `${{ if ne(parameters.X, '') }}` blocks. Steps that call other actions or tasks
(`uses:`, `task:`) are listed and skipped: they are not runnable here.

Prints one line per step and exits with the first failing step's exit code (0 when all pass);
later steps are skipped after a failure unless their condition says always().
"""

import os
import re
import subprocess
import sys
import tempfile

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def substitute(text, values, outputs):
    def one(m):
        e = m.group(1)
        so = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", e)
        if so:
            return outputs.get(so.group(1), {}).get(so.group(2), "")
        if e not in values:
            sys.exit(f"ci_steps: no value for expression `{e}` (pass --set {e}=...)")
        return values[e]

    return EXPR.sub(one, text)


def condition_holds(cond, values, failed):
    if cond is None:
        return not failed
    cond = str(cond).strip()
    cond = EXPR.sub(lambda m: m.group(1), cond)
    parts = [p.strip() for p in cond.split("&&")]
    ok = True
    always = False
    for p in parts:
        if p == "always()":
            always = True
            continue
        m = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", p)
        if not m:
            sys.exit(f"ci_steps: cannot evaluate condition `{p}`")
        v = values.get(m.group(1))
        if v is None:
            sys.exit(f"ci_steps: no value for `{m.group(1)}` in a condition")
        ok = ok and ((v == m.group(3)) == (m.group(2) == "=="))
    return ok and (always or not failed)


def flatten_azure(steps, values):
    out = []
    for s in steps:
        if isinstance(s, dict) and len(s) == 1:
            (k, v), = s.items()
            m = re.fullmatch(r"\$\{\{\s*if\s+ne\((parameters\.\w+),\s*''\)\s*\}\}", k)
            if m:
                if m.group(1) not in values:
                    sys.exit(f"ci_steps: no value for `{m.group(1)}`")
                if values[m.group(1)] != "":
                    out.extend(flatten_azure(v, values))
                continue
        out.append(s)
    return out


def run_step(script, env_extra, env):
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        # GitHub's `shell: bash` is `bash --noprofile --norc -eo pipefail {0}`; Azure's
        # Bash task runs the script with bash too.
        p = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", path],
            env={**env, **env_extra},
            stdout=subprocess.PIPE,
            text=True,
        )
    finally:
        os.unlink(path)
    sys.stdout.write(p.stdout)
    return p.returncode, p.stdout


def main():
    kind, file = sys.argv[1], sys.argv[2]
    values = {}
    rest = sys.argv[3:]
    while rest:
        if rest[0] != "--set" or len(rest) < 2 or "=" not in rest[1]:
            sys.exit("usage: ci_steps.py github|azure FILE [--set NAME=VALUE]...")
        k, v = rest[1].split("=", 1)
        values[k] = v
        rest = rest[2:]
    doc = yaml.safe_load(open(file))
    env = dict(os.environ)
    if kind == "github":
        steps = doc["runs"]["steps"]
        for name, spec in (doc.get("inputs") or {}).items():
            values.setdefault(f"inputs.{name}", str(spec.get("default", "")))
    elif kind == "azure":
        for p in doc.get("parameters") or []:
            d = p.get("default", "")
            d = ("True" if d else "False") if isinstance(d, bool) else str(d)
            values.setdefault(f"parameters.{p['name']}", d)
        steps = flatten_azure(doc["steps"], values)
    else:
        sys.exit(f"ci_steps: unknown kind {kind}")

    outputs = {}
    failed = 0
    for i, s in enumerate(steps, 1):
        name = s.get("name") or s.get("displayName") or f"step {i}"
        script = s.get("run") if kind == "github" else s.get("bash")
        if script is None:
            print(f"ci_steps: [{i}] {name}: skipped ({s.get('uses') or s.get('task')} is not runnable here)")
            continue
        if kind == "github" and not condition_holds(s.get("if"), values, failed):
            print(f"ci_steps: [{i}] {name}: skipped (condition)")
            continue
        if kind == "azure" and failed:
            print(f"ci_steps: [{i}] {name}: skipped (an earlier step failed)")
            continue
        step_env = {k: substitute(str(v), values, outputs) for k, v in (s.get("env") or {}).items()}
        script = substitute(script, values, outputs)
        extra = {}
        if kind == "github":
            out_file = tempfile.NamedTemporaryFile(delete=False).name
            path_file = tempfile.NamedTemporaryFile(delete=False).name
            extra = {"GITHUB_OUTPUT": out_file, "GITHUB_PATH": path_file}
        print(f"ci_steps: [{i}] {name}: running")
        code, stdout = run_step(script, {**step_env, **extra}, env)
        if kind == "github":
            with open(out_file) as f:
                kv = dict(l.split("=", 1) for l in f.read().splitlines() if "=" in l)
            if s.get("id"):
                outputs[s["id"]] = kv
            with open(path_file) as f:
                for d in f.read().splitlines():
                    env["PATH"] = d + os.pathsep + env["PATH"]
            os.unlink(out_file)
            os.unlink(path_file)
        else:
            for m in re.finditer(r"^##vso\[task\.setvariable variable=([\w.]+)\](.*)$", stdout, re.M):
                env[m.group(1).upper().replace(".", "_")] = m.group(2)
            for m in re.finditer(r"^##vso\[task\.prependpath\](.*)$", stdout, re.M):
                env["PATH"] = m.group(1) + os.pathsep + env["PATH"]
            for m in re.finditer(r"^##vso\[task\.uploadsummary\](.*)$", stdout, re.M):
                if not os.path.isfile(m.group(1)):
                    print(f"ci_steps: uploadsummary names a missing file: {m.group(1)}")
                    code = code or 1
        print(f"ci_steps: [{i}] {name}: exit {code}")
        if code != 0 and not failed:
            failed = code
    sys.exit(failed)


if __name__ == "__main__":
    main()
