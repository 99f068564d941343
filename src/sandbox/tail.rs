//! A byte-capped tail of a log: the end of a build or a service's output is where the error is.

/// Keeps at most `cap` bytes of the most recent text, counting what it dropped.
#[derive(Debug)]
pub(crate) struct LogTail {
    cap: usize,
    text: String,
    dropped: usize,
}

impl LogTail {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            text: String::new(),
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, chunk: &str) {
        self.text.push_str(chunk);
        if self.text.len() > self.cap {
            let mut cut = self.text.len() - self.cap;
            while !self.text.is_char_boundary(cut) {
                cut += 1;
            }
            self.dropped += cut;
            self.text.drain(..cut);
        }
    }

    /// The kept text, preceded by a note of how much was cut.
    pub(crate) fn finish(self) -> String {
        if self.dropped == 0 {
            self.text
        } else {
            format!(
                "[... {} earlier bytes cut ...]\n{}",
                self.dropped, self.text
            )
        }
    }

    pub(crate) fn snapshot(&self) -> String {
        Self {
            cap: self.cap,
            text: self.text.clone(),
            dropped: self.dropped,
        }
        .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_end_within_the_cap() {
        let mut tail = LogTail::new(5);
        tail.push("hello ");
        tail.push("world");
        assert_eq!(tail.finish(), "[... 6 earlier bytes cut ...]\nworld");
    }
}
