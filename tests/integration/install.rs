//! What an install needs besides the binary: `patrol completions SHELL` and `patrol man`.

use crate::util::{run_patrol, TestDir};

#[test]
fn completions_cover_every_shell_and_the_subcommands() {
    let t = TestDir::new();
    for (shell, marker) in [
        ("bash", "complete -F _patrol"),
        ("zsh", "#compdef patrol"),
        ("fish", "complete -c patrol"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion:arg-completer[patrol]"),
    ] {
        let o = run_patrol(t.path(), &["completions", shell]);
        assert_eq!(o.code, 0, "{shell}: {}", o.stderr);
        assert!(o.stdout.contains(marker), "{shell}: no {marker:?}");
        for word in ["scan", "baseline", "since-commit", "show-secrets"] {
            assert!(o.stdout.contains(word), "{shell}: no {word}");
        }
    }
    let o = run_patrol(t.path(), &["completions", "tcsh"]);
    assert_eq!(o.code, 2, "an unknown shell is a usage error");
}

#[test]
fn bash_completion_is_valid_bash() {
    let t = TestDir::new();
    let script = t.write(
        "patrol.bash",
        run_patrol(t.path(), &["completions", "bash"]).stdout,
    );
    let o = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .expect("bash");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn man_page_is_one_roff_page_with_every_subcommand_and_flag() {
    let t = TestDir::new();
    let o = run_patrol(t.path(), &["man"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.stdout.matches("\n.TH ").count(), 1, "one page");
    assert!(o.stdout.contains(".TH patrol 1"));
    for word in [
        "patrol\\-scan",
        "patrol\\-baseline",
        "patrol\\-hook",
        "\\-\\-staged",
        "\\-\\-format",
    ] {
        assert!(o.stdout.contains(word), "no {word}");
    }
}
