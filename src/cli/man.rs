//! `patrol man`: the patrol(1) manual page in roff, generated from the clap definition
//! (clap_mangen) with one section per subcommand, printed to stdout
//! (`patrol man > /usr/local/share/man/man1/patrol.1`).

use std::io::Write;

use clap::Args;

use super::exit::ExitCode;

#[derive(Debug, Args)]
pub struct ManArgs {}

/// Writes the page for `cmd`, the whole command line (passed in, so this file needs nothing
/// of `cli/mod.rs`).
pub fn run(_: ManArgs, cmd: clap::Command) -> anyhow::Result<ExitCode> {
    let mut buf = Vec::new();
    render(&cmd, &mut buf)?;
    let mut out = std::io::stdout().lock();
    super::output::ignore_broken_pipe(out.write_all(&buf).and_then(|_| out.flush()))?;
    Ok(ExitCode::Clean)
}

/// The page for `cmd`, then one "patrol-SUB" section per visible subcommand, recursively, so
/// every flag is in the one page `man patrol` opens.
fn render(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    if out.is_empty() {
        man.render(out)?;
    } else {
        // One page: a subcommand's sections follow its parent's, under its own NAME.
        man.render_name_section(out)?;
        man.render_synopsis_section(out)?;
        man.render_description_section(out)?;
        man.render_options_section(out)?;
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        let name = format!("{}-{}", cmd.get_name(), sub.get_name());
        let sub = sub
            .clone()
            .name(name.clone())
            .bin_name(name.replace('-', " "));
        render(&sub, out)?;
    }
    Ok(())
}
