//! A pseudo-terminal pair: a serial driver opens the slave path as its port while a test or a
//! benchmark plays the device on the master side.

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;

pub struct Pty {
    master: OwnedFd,
    /// Kept open so the master never reads EIO between the driver's opens.
    _slave: OwnedFd,
    path: PathBuf,
}

impl Pty {
    pub fn open() -> std::io::Result<Pty> {
        let mut master: libc::c_int = -1;
        let mut slave: libc::c_int = -1;
        // SAFETY: openpty writes two descriptors into the given ints; the name, termios and
        // window-size pointers may be null.
        let rc = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just opened by openpty and are owned by nobody else.
        let (master, slave) =
            unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let mut name = [0 as libc::c_char; 128];
        // SAFETY: the buffer is valid for its length; ttyname_r NUL-terminates on success.
        let rc = unsafe {
            libc::ttyname_r(
                std::os::fd::AsRawFd::as_raw_fd(&slave),
                name.as_mut_ptr(),
                name.len(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        // SAFETY: NUL-terminated by ttyname_r.
        let path = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        let pty = Pty {
            master,
            _slave: slave,
            path: PathBuf::from(path),
        };
        pty.make_raw()?;
        Ok(pty)
    }

    /// Puts the slave side in raw mode at once, so that nothing written before the driver opens
    /// it is echoed or cooked.
    fn make_raw(&self) -> std::io::Result<()> {
        let fd = std::os::fd::AsRawFd::as_raw_fd(&self._slave);
        // SAFETY: termios is plain data; tcgetattr fills it, tcsetattr reads it.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut t) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::cfmakeraw(&mut t);
            if libc::tcsetattr(fd, libc::TCSANOW, &t) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    pub fn slave_path(&self) -> PathBuf {
        self.path.clone()
    }

    /// A blocking handle on the master side (the device end).
    pub fn master(&self) -> File {
        match self.master.try_clone() {
            Ok(fd) => File::from(fd),
            Err(e) => unreachable_dup(&e),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_dup(e: &std::io::Error) -> ! {
    panic!("cannot duplicate the pty master: {e}")
}
