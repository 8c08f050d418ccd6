using TrustServer.Data;
using TrustServer.Server.Notary;
using TrustServer.Tuf;
using TrustServer.Tuf.Query;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Trust;

/// <summary>
/// The trust view of a repository for the trust queries (<c>/api/trust/v1</c>): the TUF core's <see cref="TrustWalk"/>
/// over the current chain, read through <see cref="MetadataReadCache"/> (the timestamp through <see cref="LazyResigner"/>,
/// as a client's GET would, so an expired timestamp or snapshot the server holds the key of is renewed first). The view
/// is cached keyed by GUN and the timestamp's SHA-256 (<see cref="MetadataReadCache.TryGetDerived{T}"/>), and recomputed
/// when the time passes an expiry or certificate boundary it depends on.
/// </summary>
internal sealed partial class TrustQueryService(
    MetadataReadCache cache, LazyResigner resigner, TimeProvider timeProvider, ILogger<TrustQueryService> logger)
{
    /// <summary>The view at the current time; null for an unknown repository.</summary>
    public async Task<TrustView?> GetViewAsync(string gun, AuditActor trigger, CancellationToken cancellationToken)
    {
        var timestamp = await CurrentTimestampAsync(gun, trigger, cancellationToken);
        if (timestamp is null)
        {
            return null;
        }

        var now = timeProvider.GetUtcNow();
        if (cache.TryGetDerived<TrustView>(gun, timestamp.Sha256, out var cached) && cached!.HoldsAt(now))
        {
            return cached;
        }

        var view = await TrustWalk.WalkAsync(
            gun,
            timestamp.Data,
            async (role, sha256, ct) => (await cache.GetByChecksumAsync(gun, role, sha256, ct))?.Data,
            now,
            cancellationToken);
        cache.SetDerived(gun, timestamp.Sha256, view, 1024 + view.Roles.Sum(r => 512 + (r.Targets.Count * 256L)));
        return view;
    }

    private async Task<ServedFile?> CurrentTimestampAsync(string gun, AuditActor trigger, CancellationToken cancellationToken)
    {
        try
        {
            return await resigner.GetTimestampAsync(gun, trigger, cancellationToken);
        }
        catch (Exception e) when (e is ChainRenewalException or ServerKeyNotHeldException or TufFormatException)
        {
            // The chain cannot be renewed (or is unreadable): the stored timestamp is walked, and the walk says why
            // nothing is trusted (expired or invalid), as a client would refuse it.
            LogStoredChain(logger, gun, e.Message);
            return await cache.GetLatestAsync(gun, Tuf.Metadata.RoleName.Timestamp, cancellationToken) is { } file ? ServedFile.Of(file) : null;
        }
    }

    [LoggerMessage(EventId = 1500, Level = LogLevel.Warning, Message = "Trust query of {Gun} walks the stored chain: {Reason}")]
    private static partial void LogStoredChain(ILogger logger, string gun, string reason);
}
