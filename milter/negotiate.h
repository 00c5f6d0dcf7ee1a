/*
 * negotiate.h - what hamlet-milter asks of the MTA at negotiation: the
 * actions it may take, the protocol steps it wants (no reply where its
 * answer is always "continue"; no DATA or unknown commands) and the
 * macros it reads at each stage. One definition for the daemon and for
 * the bench's null milter (tests/bench/null_milter.c), which must cost
 * the MTA exactly what hamlet's negotiation does.
 * Include after <libmilter/mfapi.h>.
 */
#ifndef HAMLET_NEGOTIATE_H
#define HAMLET_NEGOTIATE_H

/* actions: add the X-Spam headers, remove forged ones, quarantine */
#define NEGOTIATE_ACTIONS	(SMFIF_ADDHDRS | SMFIF_CHGHDRS | \
				 SMFIF_QUARANTINE)

/*
 * Steps: no replies for the steps that always continue (one round trip
 * less per header, recipient and so on); MAIL FROM (skips) and body
 * (SMFIS_SKIP) still answer. DATA and unknown commands are not sent.
 */
#define NEGOTIATE_STEPS		(SMFIP_HDR_LEADSPC | SMFIP_SKIP | \
				 SMFIP_NR_CONN | SMFIP_NR_HELO | \
				 SMFIP_NR_RCPT | SMFIP_NR_HDR | \
				 SMFIP_NR_EOH | SMFIP_NODATA | \
				 SMFIP_NOUNKNOWN)

/* the macros read at each stage; call when the MTA offers SETSYMLIST */
static inline void
negotiate_symlists(SMFICTX *ctx)
{
	smfi_setsymlist(ctx, SMFIM_CONNECT, "j _ {daemon_name}");
	smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
	smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
	smfi_setsymlist(ctx, SMFIM_EOH, "i");
	smfi_setsymlist(ctx, SMFIM_EOM, "i");
}

#endif
