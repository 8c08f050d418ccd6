using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// The one path that re-signs a repository's server-managed files and commits them: the lazy re-sign on read
/// (<see cref="LazyResigner"/>) and the background re-signer (<see cref="BackgroundResigner"/>) both come here. The
/// decision and the new files come from the TUF core's <see cref="ChainRenewal"/> with the configured
/// <c>Signing:Lifetimes</c>; the commit is one transaction against the timestamp (version and checksum) the chain was read at.
/// </summary>
internal sealed partial class ChainResigner(
    IMetadataStore store, MetadataReadCache cache, ISigningService signer, TimeProvider timeProvider, IOptions<SigningOptions> options,
    TrustServerMetrics metrics, ILogger<ChainResigner> logger)
{
    /// <summary>Why a re-sign happened, as logged: an expired file was read.</summary>
    public const string OnRead = "read";

    /// <summary>Why a re-sign happened, as logged: the background re-signer renewed it ahead of expiry.</summary>
    public const string Scheduled = "schedule";

    private readonly ChainRenewal _renewal = new(timeProvider, options.Value.Lifetimes.ToServerLifetimes());

    /// <summary>The configured lifetimes and renewal margin.</summary>
    public ServerLifetimes Lifetimes { get; } = options.Value.Lifetimes.ToServerLifetimes();

    /// <summary>
    /// Re-signs what <paramref name="need"/> says for the chain read from the database, against its current root
    /// (<paramref name="root"/> when the caller already read it), and commits with <paramref name="audit"/>'s entry in
    /// the same transaction. Returns the new files, or null when
    /// another writer stored a newer timestamp first (nothing was written).
    /// </summary>
    /// <exception cref="ChainRenewalException">The server cannot renew the chain (key not held, invalid root).</exception>
    public async Task<RenewedChain?> ResignAsync(
        string gun, StoredChain chain, RenewalNeed need, string trigger, StoredFile? root, AuditContext audit, CancellationToken cancellationToken)
    {
        root ??= await CurrentChainReader.GetBySnapshotEntryAsync(store, gun, RoleName.Root, chain.Snapshot, cancellationToken)
            ?? throw new ChainRenewalException("the current snapshot names no stored root");
        var renewed = await _renewal.RenewAsync(gun, root.Data, chain.ToCurrentChain(), need, signer, cancellationToken);
        var expected = new ExpectedTimestamp(chain.Timestamp.File.Version, chain.Timestamp.File.Sha256);
        var outcome = await store.CommitAsync(gun, expected, renewed.Files, audit, cancellationToken);
        cache.Invalidate(gun);
        if (outcome != CommitOutcome.Committed)
        {
            return null;
        }

        LogResigned(gun, trigger, string.Join(",", renewed.Files.Select(f => $"{f.Role}@{f.Version}")));
        foreach (var file in renewed.Files)
        {
            metrics.Resigns.WithLabels(file.Role).Inc();
        }

        return renewed;
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Re-signed {Gun} ({Trigger}): {Files}")]
    private partial void LogResigned(string gun, string trigger, string files);
}
