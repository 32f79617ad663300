//! The proposer's side of rolling upgrades: refuse a mutation that a member
//! is known to be too old to apply (see `state::level`), with a message that
//! names the member, its version and what to do.

use crate::error::{Error, ErrorKind, Result};
use crate::state::Mutation;

use super::Core;

impl Core {
    /// Fail with [`ErrorKind::Incompatible`] when a member last reported a
    /// state level below what `mutation` needs. Members not heard from since
    /// this node started are not held against it (they may be down for
    /// good); they report their level as soon as they answer a ping.
    pub(crate) fn check_levels(&self, mutation: &Mutation) -> Result<()> {
        let needed = mutation.required_level();
        if needed <= 1 {
            return Ok(());
        }
        let view = self.consensus.view();
        for (id, _) in view.voters.iter().chain(view.learners.iter()) {
            if id == self.me() {
                continue;
            }
            if let Some((version, level)) = self.liveness.release(id)
                && level < needed
            {
                return Err(Error::new(
                    ErrorKind::Incompatible,
                    format!(
                        "node {id} runs quptime {version}, which cannot apply \"{}\"; \
                         upgrade every member to quptime {} or later first (one node at a \
                         time, see docs/operations.md, rolling upgrade), then retry",
                        mutation.describe(),
                        crate::VERSION
                    ),
                ));
            }
        }
        Ok(())
    }
}
