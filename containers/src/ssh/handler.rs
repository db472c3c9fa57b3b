//! The russh handler of one connection: accepts the caller (the edge already checked them),
//! opens channels within the connection's bounds, answers channel requests in order, and records
//! activity. The work of a channel happens in its own task ([`super::session`],
//! [`super::forward`]), which the handler owns: when the connection ends the handler is dropped,
//! the tasks are aborted and their process groups killed.

use super::{forward, session, Slots, SshContext};
use russh::keys::ssh_key::PublicKey;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure, Pty};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::task::{AbortHandle, JoinSet};

pub(super) struct Connection {
    ctx: Arc<SshContext>,
    slots: Slots,
    tasks: JoinSet<()>,
    /// Session channels that already run something (a second `exec` is refused).
    started: HashSet<ChannelId>,
    /// `tcpip-forward` listeners by (address, port).
    forwards: HashMap<(String, u32), AbortHandle>,
}

impl Connection {
    pub(super) fn new(ctx: Arc<SshContext>) -> Self {
        Self { ctx, slots: Slots::default(), tasks: JoinSet::new(), started: HashSet::new(), forwards: HashMap::new() }
    }

    /// Forgets the tasks that already finished (their results are of no interest).
    fn reap(&mut self) {
        while self.tasks.try_join_next().is_some() {}
    }

    /// Answers a request that starts the channel's program: once per channel.
    fn start(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), anyhow::Error> {
        self.ctx.activity.touch();
        if self.started.insert(channel) {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }
}

impl Handler for Connection {
    type Error = anyhow::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn auth_publickey(&mut self, _user: &str, _key: &PublicKey) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.reap();
        let Some(slot) = self.slots.take() else {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        };
        reply.accept().await;
        self.tasks.spawn(session::run(channel, self.ctx.clone(), slot));
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host: &str,
        port: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.reap();
        let Some(slot) = self.slots.take() else {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        };
        let target = (host.to_string(), port);
        self.tasks.spawn(forward::direct(channel, reply, target, self.ctx.activity.clone(), slot));
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.started.remove(&channel);
        Ok(())
    }

    async fn data(&mut self, _channel: ChannelId, _data: &[u8], _session: &mut Session) -> Result<(), Self::Error> {
        self.ctx.activity.touch();
        Ok(())
    }

    async fn extended_data(
        &mut self,
        _channel: ChannelId,
        _code: u32,
        _data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.ctx.activity.touch();
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if session::acceptable_env(name, value) {
            session.channel_success(channel)?;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        self.start(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == session::SFTP {
            self.start(channel, session)
        } else {
            session.channel_failure(channel)?;
            Ok(())
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        _cols: u32,
        _rows: u32,
        _pix_width: u32,
        _pix_height: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        Ok(())
    }

    async fn signal(
        &mut self,
        _channel: ChannelId,
        _signal: russh::Sig,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.ctx.activity.touch();
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        self.forwards.retain(|_, task| !task.is_finished());
        if self.forwards.len() >= super::MAX_FORWARDS {
            return Ok(false);
        }
        let Ok(listener) = forward::bind(address, *port).await else {
            return Ok(false);
        };
        let bound = listener.local_addr()?.port();
        if *port == 0 {
            *port = u32::from(bound);
        }
        let remote = forward::Remote {
            handle: session.handle(),
            address: address.to_string(),
            port: *port,
            activity: self.ctx.activity.clone(),
            slots: self.slots.clone(),
        };
        let task = self.tasks.spawn(forward::serve_remote(listener, remote));
        self.forwards.insert((address.to_string(), *port), task);
        Ok(true)
    }

    async fn cancel_tcpip_forward(
        &mut self,
        address: &str,
        port: u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        match self.forwards.remove(&(address.to_string(), port)) {
            Some(task) => {
                task.abort();
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
