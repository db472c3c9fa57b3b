//! The process behind a `shell` or `exec` request: started in the workspace with exactly the
//! channel's environment, in a process group of its own; stdin, stdout and stderr on pipes, or all
//! three on a pty when the client asked for one. The channel's data feeds its input (EOF closes a
//! pipe), `window-change` resizes the pty, `signal` is sent to the group. When the process exits
//! its group is killed, its remaining output drained, and `exit-status`, EOF and close are sent;
//! when the channel or the connection closes first, the group is killed all the same.

use super::session::{clamp, Program};
use super::SshContext;
use bytes::Bytes;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use russh::server::Msg;
use russh::{Channel, ChannelMsg, ChannelWriteHalf, Sig};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Chunks of channel data queued for the process's input (each at most one SSH packet, 32 KiB).
const INPUT_QUEUE: usize = 64;
/// How long output still held open by a process that escaped the group may delay the close.
const DRAIN_GRACE: Duration = Duration::from_secs(10);
/// Read size of the output pumps: one full SSH packet.
const OUTPUT_CHUNK: usize = 32 * 1024;

enum Input {
    Data(Bytes),
    Resize { cols: u16, rows: u16 },
}

/// Runs `program` for the channel until it exits or the channel closes.
pub(super) async fn run(channel: Channel<Msg>, ctx: &SshContext, program: Program) {
    let (mut reader, writer) = channel.split();
    let mut running = match Running::spawn(ctx, &program, &writer) {
        Ok(running) => running,
        Err(e) => {
            let message = format!("burstflare: cannot start {}: {e}\r\n", ctx.shell.display());
            let _ = writer.extended_data_bytes(1, message.into_bytes()).await;
            finish(&writer, 127).await;
            return;
        }
    };
    let status = loop {
        tokio::select! {
            status = running.child.wait() => break status,
            msg = reader.wait() => match msg {
                None | Some(ChannelMsg::Close) => return,
                Some(ChannelMsg::Data { data }) => running.input(Input::Data(data)).await,
                Some(ChannelMsg::Eof) if !running.pty => running.input = None,
                Some(ChannelMsg::WindowChange { col_width, row_height, .. }) => {
                    running.input(Input::Resize { cols: clamp(col_width), rows: clamp(row_height) }).await;
                }
                Some(ChannelMsg::Signal { signal }) => running.group.signal(&signal),
                Some(_) => {}
            },
        }
    };
    running.group.kill();
    let outputs = async { while running.outputs.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(DRAIN_GRACE, outputs).await;
    let code = match status {
        Ok(status) => status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        Err(_) => 255,
    };
    finish(&writer, u32::try_from(code).unwrap_or(255)).await;
}

async fn finish(writer: &ChannelWriteHalf<Msg>, code: u32) {
    let _ = writer.exit_status(code).await;
    let _ = writer.eof().await;
    let _ = writer.close().await;
}

/// A started process and the tasks that move its bytes; dropping it kills the process group.
struct Running {
    child: tokio::process::Child,
    group: Group,
    pty: bool,
    /// `None` once the client sent EOF (the pipe is closed).
    input: Option<mpsc::Sender<Input>>,
    outputs: JoinSet<()>,
    _feeder: JoinSet<()>,
}

impl Running {
    fn spawn(ctx: &SshContext, program: &Program, writer: &ChannelWriteHalf<Msg>) -> io::Result<Self> {
        let (tx, rx) = mpsc::channel(INPUT_QUEUE);
        let mut outputs = JoinSet::new();
        let mut feeder = JoinSet::new();
        let child = match &program.pty {
            None => {
                let mut command = tokio::process::Command::new(&ctx.shell);
                if let Some(line) = &program.command {
                    command.arg("-c").arg(OsStr::from_bytes(line));
                }
                command
                    .current_dir(&ctx.workspace)
                    .env_clear()
                    .envs(&program.env)
                    .process_group(0)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true);
                let mut child = command.spawn()?;
                let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
                if let (Some(stdin), Some(stdout), Some(stderr)) = (stdin, stdout, stderr) {
                    feeder.spawn(feed(rx, stdin, |_, _| {}));
                    outputs.spawn(pump(stdout, writer.make_writer()));
                    outputs.spawn(pump(stderr, writer.make_writer_ext(Some(1))));
                }
                child
            }
            Some(pty) => {
                let (terminal, pts) = pty_process::open().map_err(io::Error::other)?;
                terminal.resize(pty_process::Size::new(pty.rows, pty.cols)).map_err(io::Error::other)?;
                let mut command = pty_process::Command::new(&ctx.shell);
                if let Some(line) = &program.command {
                    command = command.arg("-c").arg(OsStr::from_bytes(line));
                }
                let command = command.current_dir(&ctx.workspace).env_clear().envs(&program.env).kill_on_drop(true);
                let child = command.spawn(pts).map_err(io::Error::other)?;
                let (read, write) = terminal.into_split();
                feeder.spawn(feed(rx, write, |w: &pty_process::OwnedWritePty, (cols, rows)| {
                    let _ = w.resize(pty_process::Size::new(rows, cols));
                }));
                outputs.spawn(pump(read, writer.make_writer()));
                child
            }
        };
        let group = Group(child.id().and_then(|id| i32::try_from(id).ok()).map(Pid::from_raw));
        let pty = program.pty.is_some();
        Ok(Self { child, group, pty, input: Some(tx), outputs, _feeder: feeder })
    }

    /// Queues input for the process (waits while the queue is full: backpressure on the client).
    async fn input(&self, input: Input) {
        if let Some(tx) = &self.input {
            let _ = tx.send(input).await;
        }
    }
}

/// Writes queued input to the process; after a write error the rest is discarded, so the channel
/// never waits on a process that is gone.
async fn feed<W>(mut rx: mpsc::Receiver<Input>, mut sink: W, resize: impl Fn(&W, (u16, u16)))
where
    W: AsyncWrite + Unpin,
{
    let mut open = true;
    while let Some(input) = rx.recv().await {
        match input {
            Input::Data(data) if open => open = sink.write_all(&data).await.is_ok(),
            Input::Data(_) => {}
            Input::Resize { cols, rows } => resize(&sink, (cols, rows)),
        }
    }
}

/// Copies a process's output to the channel until EOF (a pty ends with `EIO` instead).
async fn pump(source: impl AsyncRead + Unpin, mut sink: impl AsyncWrite + Unpin) {
    let mut source = BufReader::with_capacity(OUTPUT_CHUNK, source);
    let _ = tokio::io::copy_buf(&mut source, &mut sink).await;
    let _ = sink.flush().await;
}

/// The process group of a started process (its id is the group's); killed when dropped.
struct Group(Option<Pid>);

impl Group {
    fn signal(&self, signal: &Sig) {
        let signal = match signal {
            Sig::ABRT => Signal::SIGABRT,
            Sig::ALRM => Signal::SIGALRM,
            Sig::FPE => Signal::SIGFPE,
            Sig::HUP => Signal::SIGHUP,
            Sig::ILL => Signal::SIGILL,
            Sig::INT => Signal::SIGINT,
            Sig::KILL => Signal::SIGKILL,
            Sig::PIPE => Signal::SIGPIPE,
            Sig::QUIT => Signal::SIGQUIT,
            Sig::SEGV => Signal::SIGSEGV,
            Sig::TERM => Signal::SIGTERM,
            Sig::USR1 => Signal::SIGUSR1,
            Sig::Custom(_) => return,
        };
        if let Some(pid) = self.0 {
            let _ = killpg(pid, signal);
        }
    }

    fn kill(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = killpg(pid, Signal::SIGKILL);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}
