using TrustServer.Data;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// GETs of <c>timestamp.json</c> and <c>snapshot.json</c>: the current chain, re-signed first when the timestamp or
/// the server-held snapshot expired (spec server-api.md §6): the fallback behind <see cref="BackgroundResigner"/>,
/// which renews ahead of expiry. Re-signing and committing is <see cref="ChainResigner"/>'s; this class decides
/// when a read needs it and serves. When another request or replica stored a newer timestamp first, that one is
/// read and served.
/// </summary>
internal sealed class LazyResigner(
    IMetadataStore store, MetadataReadCache cache, CurrentChainReader chains, ChainResigner resigner, TimeProvider timeProvider)
{
    // A lazy re-sign that loses to another replica re-reads; a few rounds cover any realistic contention.
    private const int ResignAttempts = 4;

    /// <summary>The principal of lazy re-signs in the audit log (the address and request id are the triggering GET's).</summary>
    public const string AuditPrincipal = "system:lazy-resign";

    /// <summary>
    /// The current timestamp, re-signed first when it (or its snapshot) expired; null for an unknown repository.
    /// A re-sign is audited as <see cref="AuditActions.Resign"/> by <see cref="AuditPrincipal"/> with the address
    /// and request id of <paramref name="trigger"/>.
    /// </summary>
    /// <exception cref="ChainRenewalException">The chain expired and the server cannot renew it.</exception>
    public async Task<ServedFile?> GetTimestampAsync(string gun, AuditActor trigger, CancellationToken cancellationToken) =>
        (await GetFreshChainAsync(gun, trigger, cancellationToken))?.Timestamp;

    /// <summary>The snapshot the current (possibly re-signed) timestamp names.</summary>
    /// <exception cref="ChainRenewalException">The chain expired and the server cannot renew it.</exception>
    public async Task<ServedFile?> GetSnapshotAsync(string gun, AuditActor trigger, CancellationToken cancellationToken) =>
        (await GetFreshChainAsync(gun, trigger, cancellationToken))?.Snapshot;

    private sealed record FreshChain(ServedFile Timestamp, ServedFile Snapshot);

    private async Task<FreshChain?> GetFreshChainAsync(string gun, AuditActor trigger, CancellationToken cancellationToken)
    {
        // The cache first (the steady state); once something looks expired, only the database counts.
        IMetadataReader reader = cache;
        for (var attempt = 0; ; attempt++)
        {
            var chain = await chains.LoadChainAsync(reader, gun, cancellationToken);
            if (chain is null)
            {
                return null;
            }

            var current = chain.ToCurrentChain();
            var need = ChainRenewal.Assess(current, timeProvider.GetUtcNow());
            if (need == RenewalNeed.None)
            {
                return new FreshChain(ServedFile.Of(chain.Timestamp.File), ServedFile.Of(chain.Snapshot.File));
            }

            if (reader == cache)
            {
                cache.Invalidate(gun);
                reader = store;
                continue;
            }

            var audit = new AuditContext(AuditActions.Resign, trigger with { Principal = AuditPrincipal }, "expired on read");
            var renewed = await resigner.ResignAsync(gun, chain, need, ChainResigner.OnRead, null, audit, cancellationToken);
            if (renewed is not null)
            {
                var signedAt = timeProvider.GetUtcNow();
                var served = renewed.Files.ToDictionary(f => f.Role, f => new ServedFile(f.Data, f.Sha256Hex, signedAt), StringComparer.Ordinal);
                return new FreshChain(served[RoleName.Timestamp], served.GetValueOrDefault(RoleName.Snapshot) ?? ServedFile.Of(chain.Snapshot.File));
            }

            if (attempt + 1 >= ResignAttempts)
            {
                throw new ChainRenewalException("the timestamp kept changing while it was being re-signed");
            }
        }
    }
}
