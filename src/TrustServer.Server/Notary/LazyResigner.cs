using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Signing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// GETs of <c>timestamp.json</c> and <c>snapshot.json</c>: the current chain, re-signed first when the timestamp or
/// the server-held snapshot expired (spec server-api.md §6). The decision and the new files come from the TUF core's
/// <see cref="ChainRenewal"/>; this class reads, commits in one transaction and serves. When another request or
/// replica stored a newer timestamp first, that one is read and served.
/// </summary>
internal sealed partial class LazyResigner(
    IMetadataStore store, MetadataReadCache cache, CurrentChainReader chains, ISigningService signer, TimeProvider timeProvider, TrustServerMetrics metrics, ILogger<LazyResigner> logger)
{
    // A lazy re-sign that loses to another replica re-reads; a few rounds cover any realistic contention.
    private const int ResignAttempts = 4;

    private readonly ChainRenewal _renewal = new(timeProvider);

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

            var root = await CurrentChainReader.GetBySnapshotEntryAsync(store, gun, RoleName.Root, chain.Snapshot, cancellationToken)
                ?? throw new ChainRenewalException("the current snapshot names no stored root");
            var renewed = await _renewal.RenewAsync(gun, root.Data, current, need, signer, cancellationToken);
            var audit = new AuditContext(AuditActions.Resign, trigger with { Principal = AuditPrincipal }, "expired on read");
            var outcome = await store.CommitAsync(gun, chain.Timestamp.File.Version, renewed.Files, audit, cancellationToken);
            cache.Invalidate(gun);
            if (outcome == CommitOutcome.Committed)
            {
                LogResigned(gun, string.Join(",", renewed.Files.Select(f => $"{f.Role}@{f.Version}")));
                var signedAt = timeProvider.GetUtcNow();
                var served = renewed.Files.ToDictionary(f => f.Role, f => new ServedFile(f.Data, f.Sha256Hex, signedAt), StringComparer.Ordinal);
                foreach (var role in served.Keys)
                {
                    metrics.Resigns.WithLabels(role).Inc();
                }

                return new FreshChain(served[RoleName.Timestamp], served.GetValueOrDefault(RoleName.Snapshot) ?? ServedFile.Of(chain.Snapshot.File));
            }

            if (attempt + 1 >= ResignAttempts)
            {
                throw new ChainRenewalException("the timestamp kept changing while it was being re-signed");
            }
        }
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Re-signed expired metadata of {Gun}: {Files}")]
    private partial void LogResigned(string gun, string files);
}
