//! `etcdeck cert ca|issue`.

use anyhow::Result;

use super::Code;
use crate::cli::CertCommand;
use crate::pki::Ca;

pub fn run(c: &CertCommand) -> Result<Code> {
    match c {
        CertCommand::Ca { out, cn, force } => {
            let ca = Ca::create(cn)?;
            for p in ca.write(out, *force)? {
                outln!("wrote {}", p.display());
            }
        }
        CertCommand::Issue {
            ca_cert,
            ca_key,
            name,
            ip,
            out,
            force,
        } => {
            let ca = Ca::load(ca_cert, ca_key)?;
            let issued = ca.issue_member(name, *ip)?;
            let (crt, key) = issued.write(out, *force)?;
            outln!(
                "wrote {} (O=pigsty, OU=etcd, CN={name}, SANs IP:{ip}, IP:127.0.0.1, DNS:localhost, DNS:{name})",
                crt.display()
            );
            outln!("wrote {} (mode 0600)", key.display());
        }
    }
    Ok(0)
}
