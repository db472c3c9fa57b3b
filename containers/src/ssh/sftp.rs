//! The `sftp` subsystem (SFTP version 3, what OpenSSH's `sftp` and `scp` speak): files and
//! directories of the session, paths relative to the workspace. At most [`MAX_HANDLES`] open
//! handles and [`MAX_READ`] bytes per read, so a client cannot make it allocate without bound.

use super::sftp_fs::{apply, attributes, canonical, open_for_setstat, resolve, status};
use super::{sftp_stream, Slot, SshContext};
use russh::server::Msg;
use russh::Channel;
use russh_sftp::protocol::{Attrs, Data, File, FileAttributes, Handle, Name, OpenFlags, Status, StatusCode, Version};
use russh_sftp::server::StatusReply;
use std::collections::HashMap;
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// Files and directories one SFTP session may hold open.
pub const MAX_HANDLES: usize = 256;
/// The largest read answered (OpenSSH asks for 32 KiB by default).
pub const MAX_READ: u32 = 256 * 1024;
/// Directory entries per `readdir` answer.
const DIR_BATCH: usize = 128;

enum Open {
    File(tokio::fs::File),
    Dir(tokio::fs::ReadDir),
}

struct Sftp {
    workspace: PathBuf,
    handles: HashMap<String, Open>,
    next_handle: u64,
    _slot: Slot,
}

/// Runs the SFTP server on the channel until the client is done with it (the server itself runs
/// in a task of its own and ends when its input does).
pub(super) async fn serve(channel: Channel<Msg>, ctx: Arc<SshContext>, slot: Slot) {
    let sftp = Sftp { workspace: ctx.workspace.clone(), handles: HashMap::new(), next_handle: 0, _slot: slot };
    let (stream, pump) = sftp_stream::split(channel);
    russh_sftp::server::run(stream, sftp).await;
    pump.await;
}

fn ok(id: u32) -> Status {
    Status { id, status_code: StatusCode::Ok, error_message: "Ok".into(), language_tag: "en-US".into() }
}

fn bad_handle() -> StatusReply {
    StatusReply::new(StatusCode::Failure).with_message("no such handle")
}

impl Sftp {
    fn path(&self, path: &str) -> PathBuf {
        resolve(&self.workspace, path)
    }

    fn insert(&mut self, open: Open) -> Result<String, StatusReply> {
        if self.handles.len() >= MAX_HANDLES {
            return Err(StatusReply::new(StatusCode::Failure).with_message("too many open handles"));
        }
        self.next_handle += 1;
        let handle = self.next_handle.to_string();
        self.handles.insert(handle.clone(), open);
        Ok(handle)
    }

    fn file(&mut self, handle: &str) -> Result<&mut tokio::fs::File, StatusReply> {
        match self.handles.get_mut(handle) {
            Some(Open::File(file)) => Ok(file),
            _ => Err(bad_handle()),
        }
    }
}

impl russh_sftp::server::Handler for Sftp {
    type Error = StatusReply;

    fn unimplemented(&self) -> Self::Error {
        StatusReply::new(StatusCode::OpUnsupported)
    }

    async fn init(&mut self, _version: u32, _extensions: HashMap<String, String>) -> Result<Version, Self::Error> {
        Ok(Version::new())
    }

    async fn open(
        &mut self,
        id: u32,
        filename: String,
        flags: OpenFlags,
        attrs: FileAttributes,
    ) -> Result<Handle, Self::Error> {
        let mut options = tokio::fs::OpenOptions::new();
        options
            .read(flags.contains(OpenFlags::READ))
            .write(flags.contains(OpenFlags::WRITE))
            .append(flags.contains(OpenFlags::APPEND))
            .truncate(flags.contains(OpenFlags::TRUNCATE));
        if flags.contains(OpenFlags::CREATE) {
            if flags.contains(OpenFlags::EXCLUDE) {
                options.create_new(true);
            } else {
                options.create(true);
            }
            options.mode(attrs.permissions.map_or(0o644, |mode| mode & 0o7777));
        }
        let file = options.open(self.path(&filename)).await.map_err(status)?;
        Ok(Handle { id, handle: self.insert(Open::File(file))? })
    }

    async fn close(&mut self, id: u32, handle: String) -> Result<Status, Self::Error> {
        match self.handles.remove(&handle) {
            Some(_) => Ok(ok(id)),
            None => Err(bad_handle()),
        }
    }

    async fn read(&mut self, id: u32, handle: String, offset: u64, len: u32) -> Result<Data, Self::Error> {
        let file = self.file(&handle)?;
        file.seek(SeekFrom::Start(offset)).await.map_err(status)?;
        let mut data = vec![0; len.min(MAX_READ) as usize];
        let mut filled = 0;
        while filled < data.len() {
            match file.read(&mut data[filled..]).await.map_err(status)? {
                0 => break,
                n => filled += n,
            }
        }
        if filled == 0 {
            return Err(StatusReply::new(StatusCode::Eof));
        }
        data.truncate(filled);
        Ok(Data { id, data })
    }

    async fn write(&mut self, id: u32, handle: String, offset: u64, data: Vec<u8>) -> Result<Status, Self::Error> {
        let file = self.file(&handle)?;
        file.seek(SeekFrom::Start(offset)).await.map_err(status)?;
        file.write_all(&data).await.map_err(status)?;
        file.flush().await.map_err(status)?;
        Ok(ok(id))
    }

    async fn lstat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = tokio::fs::symlink_metadata(self.path(&path)).await.map_err(status)?;
        Ok(Attrs { id, attrs: attributes(&meta) })
    }

    async fn stat(&mut self, id: u32, path: String) -> Result<Attrs, Self::Error> {
        let meta = tokio::fs::metadata(self.path(&path)).await.map_err(status)?;
        Ok(Attrs { id, attrs: attributes(&meta) })
    }

    async fn fstat(&mut self, id: u32, handle: String) -> Result<Attrs, Self::Error> {
        let meta = self.file(&handle)?.metadata().await.map_err(status)?;
        Ok(Attrs { id, attrs: attributes(&meta) })
    }

    async fn setstat(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, Self::Error> {
        let file = open_for_setstat(&self.path(&path), &attrs).await.map_err(status)?;
        apply(file, attrs).await.map_err(status)?;
        Ok(ok(id))
    }

    async fn fsetstat(&mut self, id: u32, handle: String, attrs: FileAttributes) -> Result<Status, Self::Error> {
        let file = self.file(&handle)?.try_clone().await.map_err(status)?;
        apply(file, attrs).await.map_err(status)?;
        Ok(ok(id))
    }

    async fn opendir(&mut self, id: u32, path: String) -> Result<Handle, Self::Error> {
        let dir = tokio::fs::read_dir(self.path(&path)).await.map_err(status)?;
        Ok(Handle { id, handle: self.insert(Open::Dir(dir))? })
    }

    async fn readdir(&mut self, id: u32, handle: String) -> Result<Name, Self::Error> {
        let Some(Open::Dir(dir)) = self.handles.get_mut(&handle) else {
            return Err(bad_handle());
        };
        let mut files = Vec::new();
        while files.len() < DIR_BATCH {
            let Some(entry) = dir.next_entry().await.map_err(status)? else { break };
            if let Ok(meta) = tokio::fs::symlink_metadata(entry.path()).await {
                files.push(File::new(entry.file_name().to_string_lossy(), attributes(&meta)));
            }
        }
        if files.is_empty() {
            return Err(StatusReply::new(StatusCode::Eof));
        }
        Ok(Name { id, files })
    }

    async fn remove(&mut self, id: u32, filename: String) -> Result<Status, Self::Error> {
        tokio::fs::remove_file(self.path(&filename)).await.map_err(status)?;
        Ok(ok(id))
    }

    async fn mkdir(&mut self, id: u32, path: String, attrs: FileAttributes) -> Result<Status, Self::Error> {
        let path = self.path(&path);
        tokio::fs::create_dir(&path).await.map_err(status)?;
        if let Some(mode) = attrs.permissions {
            let permissions = std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777);
            tokio::fs::set_permissions(&path, permissions).await.map_err(status)?;
        }
        Ok(ok(id))
    }

    async fn rmdir(&mut self, id: u32, path: String) -> Result<Status, Self::Error> {
        tokio::fs::remove_dir(self.path(&path)).await.map_err(status)?;
        Ok(ok(id))
    }

    async fn realpath(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let real = canonical(&self.path(&path));
        Ok(Name { id, files: vec![File::dummy(real.to_string_lossy())] })
    }

    async fn rename(&mut self, id: u32, from: String, to: String) -> Result<Status, Self::Error> {
        tokio::fs::rename(self.path(&from), self.path(&to)).await.map_err(status)?;
        Ok(ok(id))
    }

    async fn readlink(&mut self, id: u32, path: String) -> Result<Name, Self::Error> {
        let target = tokio::fs::read_link(self.path(&path)).await.map_err(status)?;
        Ok(Name { id, files: vec![File::dummy(target.to_string_lossy())] })
    }

    /// OpenSSH sends the two paths of `SSH_FXP_SYMLINK` in reverse of the draft's order (target
    /// first, then the link), and every client follows it; so does this server.
    async fn symlink(&mut self, id: u32, target: String, link: String) -> Result<Status, Self::Error> {
        tokio::fs::symlink(target, self.path(&link)).await.map_err(status)?;
        Ok(ok(id))
    }
}
