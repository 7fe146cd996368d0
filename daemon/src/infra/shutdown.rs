//! One shutdown signal for a node: the trigger is fired once, every task holds a [`Shutdown`]
//! and finishes its work when it resolves, and the node joins the tasks (none is aborted).

use tokio::sync::watch;

/// Fires the shutdown of every [`Shutdown`] made from it.
#[derive(Debug)]
pub struct Trigger(watch::Sender<bool>);

/// A task's side of the shutdown signal: cheap to clone, one per task.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// A new signal, not yet fired.
pub fn channel() -> (Trigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Trigger(tx), Shutdown(rx))
}

impl Trigger {
    /// Tells every task to stop (again is harmless).
    pub fn send(&self) {
        self.0.send_replace(true);
    }

    /// A new receiver of this signal.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown(self.0.subscribe())
    }
}

impl Shutdown {
    /// Resolves once the signal is fired (at once if it already was), or the trigger is gone.
    pub async fn recv(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether the signal has been fired.
    pub fn is_fired(&self) -> bool {
        *self.0.borrow()
    }

    /// The underlying receiver: `true` once fired (for APIs that take a watch channel).
    pub fn watch(&self) -> watch::Receiver<bool> {
        self.0.clone()
    }

    /// The signal as an owned future, for APIs that take one (`with_graceful_shutdown`).
    pub async fn fired(mut self) {
        self.recv().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_receiver_sees_the_signal_even_when_subscribed_late() {
        let (trigger, mut a) = channel();
        let b = a.clone();
        assert!(!a.is_fired());
        let waiting = tokio::spawn(b.fired());
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        trigger.send();
        waiting.await.unwrap();
        a.recv().await;
        let mut late = trigger.subscribe();
        late.recv().await;
        assert!(late.is_fired());
        // A dropped trigger also ends the waits: no task waits for ever.
        let (t, mut c) = channel();
        drop(t);
        c.recv().await;
    }
}
