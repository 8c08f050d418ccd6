using System.Diagnostics;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Audit;
using TrustServer.Server.Observability;
using TrustServer.Server.Options;
using TrustServer.Signing;
using TrustServer.Signing.Remote;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>The outcome of an update: accepted, rejected by validation, or lost to a newer stored version.</summary>
internal sealed record PublishOutcome(ValidationError? Rejection, bool VersionConflict)
{
    public static readonly PublishOutcome Accepted = new(null, false);
}

/// <summary>
/// Updates and deletes of a repository (spec server-api.md §4, §8): an update is validated against the stored state
/// read from the database (never the read cache), or against the state this replica's own last commit left
/// (<see cref="PublishedStates"/>, which the commit's check of the stored timestamp guards), and committed in one
/// transaction; the GUN is then dropped from this replica's read cache (other replicas learn it from the changefeed).
/// Every committed change is in the audit log through its own transaction; rejected, conflicting and failed updates
/// are recorded afterwards, best effort (<see cref="AuditTrail"/>).
/// </summary>
internal sealed partial class RepositoryPublisher(
    IMetadataStore store,
    MetadataReadCache cache,
    PublishedStates states,
    CurrentChainReader chains,
    ISigningService signer,
    AuditTrail audit,
    TimeProvider timeProvider,
    IOptions<SigningOptions> signing,
    TrustServerMetrics metrics,
    ILogger<RepositoryPublisher> logger)
{
    private readonly UpdateValidator _validator = new(timeProvider, signing.Value.Lifetimes.ToServerLifetimes());

    /// <summary>Validates an update against the stored state and commits it in one transaction.</summary>
    public async Task<PublishOutcome> PublishAsync(string gun, IReadOnlyList<MetadataUpload> uploads, AuditActor actor, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await ValidateAndCommitAsync(gun, uploads, actor, cancellationToken);
            var label = outcome.VersionConflict ? "VERSION" : outcome.Rejection is { } rejection ? rejection.NotaryName ?? "INVALID_UPDATE" : "accepted";
            metrics.Publishes.WithLabels(label).Inc();
            if (outcome != PublishOutcome.Accepted)
            {
                var (result, detail) = outcome.VersionConflict
                    ? (AuditOutcomes.Conflict, outcome.Rejection?.Message ?? "a newer version was stored first")
                    : (AuditOutcomes.Rejected, $"{outcome.Rejection!.Kind}: {outcome.Rejection.Message}");
                await audit.RecordAsync(new AuditEntry(AuditActions.Publish, result, actor, gun, Describe(uploads), detail));
            }

            return outcome;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            metrics.Publishes.WithLabels("UPDATING").Inc();
            var detail = e is SignerUnavailableException ? "the signing service is unavailable" : "server error: " + e.GetType().Name;
            await audit.RecordAsync(new AuditEntry(AuditActions.Publish, AuditOutcomes.Failed, actor, gun, Describe(uploads), detail));
            throw;
        }
    }

    /// <summary>Deletes every file of the repository (signer keys stay); the deletion and its audit entry are one transaction.</summary>
    public async Task<bool> DeleteAsync(string gun, AuditActor actor, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteAsync(gun, new AuditContext(AuditActions.Delete, actor), cancellationToken);
        cache.Invalidate(gun);
        states.Forget(gun);
        return deleted;
    }

    // role@version of each upload as the client wrote it (the role alone when its version is unreadable).
    private static string Describe(IReadOnlyList<MetadataUpload> uploads) => string.Join(',', uploads.Select(u =>
    {
        try
        {
            return AuditEntry.Describe([(u.Role, u.File.Version)]);
        }
        catch (TufFormatException)
        {
            return u.Role;
        }
    }));

    private async Task<PublishOutcome> ValidateAndCommitAsync(string gun, IReadOnlyList<MetadataUpload> uploads, AuditActor actor, CancellationToken cancellationToken)
    {
        // What this replica committed last, when it remembers it; otherwise, and once more whenever that turns out
        // stale or leads to a rejection, the database (see PublishedStates).
        var remembered = states.Find(gun);
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            var latest = remembered ?? await store.GetLatestOfEachRoleAsync(gun, cancellationToken);
            var (state, timestamp) = await LoadStateAsync(gun, latest, cancellationToken);
            metrics.PublishPhases.WithLabels("load").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            started = Stopwatch.GetTimestamp();
            var result = await _validator.ValidateAsync(gun, state, uploads, signer, cancellationToken);
            metrics.PublishPhases.WithLabels("validate").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            if (!result.IsAccepted)
            {
                if (remembered is not null)
                {
                    remembered = Reread(gun, "rejected");
                    continue;
                }

                LogRejected(gun, result.Error!.Kind, result.Error.Message);
                return new PublishOutcome(result.Error, result.Error.Kind == ValidationErrorKind.OldVersion);
            }

            started = Stopwatch.GetTimestamp();
            var expected = new ExpectedTimestamp(timestamp?.Version, timestamp?.Sha256);
            var outcome = await store.CommitAsync(gun, expected, result.Files, new AuditContext(AuditActions.Publish, actor), cancellationToken);
            metrics.PublishPhases.WithLabels("commit").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            cache.Invalidate(gun);
            if (outcome == CommitOutcome.VersionConflict)
            {
                if (remembered is not null)
                {
                    remembered = Reread(gun, "stale");
                    continue;
                }

                LogConflict(gun);
                return new PublishOutcome(null, true);
            }

            states.Remember(gun, latest, result.Files, timeProvider.GetUtcNow());
            LogPublished(gun, string.Join(",", result.Files.Select(f => $"{f.Role}@{f.Version}")), actor.Principal);
            return PublishOutcome.Accepted;
        }
    }

    // The remembered state led to a rejection or a refused commit: forget it, and validate against the database.
    private IReadOnlyDictionary<string, StoredFile>? Reread(string gun, string reason)
    {
        states.Forget(gun);
        metrics.PublishStateRereads.WithLabels(reason).Inc();
        LogReread(gun, reason);
        return null;
    }

    // The stored state the validator needs, from the latest file of each role: current files through the chain, highest
    // versions of every role; and the current timestamp, which the commit expects to find still stored.
    private async Task<(RepositoryState State, StoredFile? Timestamp)> LoadStateAsync(
        string gun, IReadOnlyDictionary<string, StoredFile> latest, CancellationToken cancellationToken)
    {
        var current = await chains.GetCurrentFilesAsync(new LatestFirstReader(latest, store), gun, cancellationToken);
        var files = current.ToDictionary(f => f.Key, f => f.Value.Data, StringComparer.Ordinal);
        var highest = latest.ToDictionary(f => f.Key, f => f.Value.Version, StringComparer.Ordinal);
        return (new RepositoryState(files, highest), current.GetValueOrDefault(RoleName.Timestamp));
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Update of {Gun} rejected: {Kind}: {Reason}")]
    private partial void LogRejected(string gun, ValidationErrorKind kind, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Update of {Gun} lost to a concurrent update")]
    private partial void LogConflict(string gun);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Published {Gun}: {Files} by {Principal}")]
    private partial void LogPublished(string gun, string files, string principal);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Debug, Message = "Update of {Gun}: the state this replica committed last was {Reason}; validating against the database")]
    private partial void LogReread(string gun, string reason);
}
