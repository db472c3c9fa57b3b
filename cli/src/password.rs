//! Where a password comes from: one line of standard input (`--password-stdin`), the
//! `BURSTFLARE_PASSWORD` variable, or a no-echo prompt when standard input is a terminal. Never a
//! command-line flag, which other local users could read from the process list.

use crate::error::{CliError, Result};
use std::fmt;
use std::io::{BufRead, IsTerminal};

/// The variable a script may set instead of piping the password.
pub const PASSWORD_ENV: &str = "BURSTFLARE_PASSWORD";

/// A password on its way to the server. Its `Debug` never shows it.
pub struct Password(String);

impl Password {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// What the password is for: a new account is asked for twice at a prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    NewAccount,
}

/// Gets the password from the first source that applies.
pub fn obtain(from_stdin: bool, purpose: Purpose) -> Result<Password> {
    if from_stdin {
        return read_line(&mut std::io::stdin().lock());
    }
    if let Some(value) = std::env::var_os(PASSWORD_ENV) {
        let value = value
            .into_string()
            .map_err(|_| CliError::new("password_invalid", "BURSTFLARE_PASSWORD is not valid UTF-8"))?;
        return non_empty(value);
    }
    if std::io::stdin().is_terminal() {
        return prompt(purpose);
    }
    Err(CliError::new(
        "password_required",
        "a password is needed: pipe it with --password-stdin, set BURSTFLARE_PASSWORD, or run in a terminal to be asked",
    ))
}

/// The first line of `input`, without its line ending.
pub fn read_line(input: &mut impl BufRead) -> Result<Password> {
    let mut line = String::new();
    input
        .read_line(&mut line)
        .map_err(|e| CliError::new("password_invalid", format!("cannot read the password from standard input: {e}")))?;
    let trimmed = line.strip_suffix('\n').unwrap_or(&line);
    let trimmed = trimmed.strip_suffix('\r').unwrap_or(trimmed);
    non_empty(trimmed.to_string())
}

fn non_empty(value: String) -> Result<Password> {
    if value.is_empty() {
        return Err(CliError::new("password_required", "the password is empty"));
    }
    Ok(Password(value))
}

fn prompt(purpose: Purpose) -> Result<Password> {
    let ask = |text: &str| {
        rpassword::prompt_password(text)
            .map_err(|e| CliError::new("password_invalid", format!("cannot read the password: {e}")))
    };
    let first = non_empty(ask("Password: ")?)?;
    if purpose == Purpose::NewAccount && ask("Repeat password: ")? != first.0 {
        return Err(CliError::new("password_mismatch", "the two passwords differ"));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_line_without_its_ending() {
        let mut input = "s3cret pass\r\nsecond line\n".as_bytes();
        assert_eq!(read_line(&mut input).unwrap().expose(), "s3cret pass");
        let mut no_newline = "last".as_bytes();
        assert_eq!(read_line(&mut no_newline).unwrap().expose(), "last");
    }

    #[test]
    fn an_empty_line_is_refused() {
        assert_eq!(read_line(&mut "\n".as_bytes()).unwrap_err().code, "password_required");
        assert_eq!(read_line(&mut "".as_bytes()).unwrap_err().code, "password_required");
    }

    #[test]
    fn debug_hides_the_password() {
        let shown = format!("{:?}", read_line(&mut "hunter22\n".as_bytes()).unwrap());
        assert!(!shown.contains("hunter22"));
    }
}
