using System.Diagnostics;
using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Signing;
using TrustServer.Tuf;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>A file to serve and the time for its <c>Last-Modified</c> header.</summary>
internal sealed record ServedFile(byte[] Data, string Sha256, DateTimeOffset LastModified);

/// <summary>The outcome of an update: accepted, rejected by validation, or lost to a newer stored version.</summary>
internal sealed record PublishOutcome(ValidationError? Rejection, bool VersionConflict)
{
    public static readonly PublishOutcome Accepted = new(null, false);
}

/// <summary>Thrown when the server must sign (re-sign on read) and cannot; answered with 500 UNKNOWN as Notary does.</summary>
internal sealed class ServerSigningException(string message) : Exception(message);

/// <summary>
/// The repository operations behind the Notary routes: current metadata through the timestamp → snapshot → role
/// chain (spec validation.md §10.3), lazy re-signing of expired snapshot/timestamp (server-api.md §6), updates
/// (validation then one transactional commit), and server-managed keys (§7).
/// </summary>
/// <remarks>
/// GETs read through <see cref="MetadataReadCache"/>; updates, re-signing and key lookups read the database directly
/// and drop the GUN from the cache after writing.
/// </remarks>
internal sealed partial class RepositoryService(
    IMetadataStore store, MetadataReadCache cache, ISigningService signer, TimeProvider timeProvider, TrustServerMetrics metrics,
    ILogger<RepositoryService> logger)
{
    // A lazy re-sign that loses to another replica re-reads; a few rounds cover any realistic contention.
    private const int ResignAttempts = 4;

    private readonly UpdateValidator _validator = new(timeProvider);
    private readonly ServerMetadataBuilder _builder = new(timeProvider);

    /// <summary>The current file of root, targets or a delegation: the one the current snapshot names; null when none.</summary>
    public async Task<ServedFile?> GetCurrentAsync(string gun, string role, CancellationToken cancellationToken)
    {
        var chain = await LoadChainAsync(cache, gun, cancellationToken);
        var file = chain is null ? null : await GetBySnapshotEntryAsync(cache, gun, role, chain.Snapshot, cancellationToken);
        return file is null ? null : new ServedFile(file.Data, file.Sha256, file.CreatedAt);
    }

    /// <summary>The current timestamp, re-signed first when it (or its snapshot) expired; null for an unknown repository.</summary>
    public async Task<ServedFile?> GetTimestampAsync(string gun, CancellationToken cancellationToken)
    {
        var fresh = await GetFreshChainAsync(gun, cancellationToken);
        return fresh is null ? null : new ServedFile(fresh.Timestamp.File.Data, fresh.Timestamp.File.Sha256, fresh.TimestampServedAt);
    }

    /// <summary>The snapshot the current (possibly re-signed) timestamp names.</summary>
    public async Task<ServedFile?> GetSnapshotAsync(string gun, CancellationToken cancellationToken)
    {
        var fresh = await GetFreshChainAsync(gun, cancellationToken);
        return fresh is null ? null : new ServedFile(fresh.Snapshot.File.Data, fresh.Snapshot.File.Sha256, fresh.Snapshot.File.CreatedAt);
    }

    /// <summary>A stored version of a role (never re-signed).</summary>
    public async Task<ServedFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken)
    {
        var file = await cache.GetByVersionAsync(gun, role, version, cancellationToken);
        return file is null ? null : new ServedFile(file.Data, file.Sha256, file.CreatedAt);
    }

    /// <summary>A stored file of a role by its SHA-256 (never re-signed).</summary>
    public async Task<ServedFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken)
    {
        var file = await cache.GetByChecksumAsync(gun, role, sha256, cancellationToken);
        return file is null ? null : new ServedFile(file.Data, file.Sha256, file.CreatedAt);
    }

    /// <summary>Validates an update against the stored state and commits it in one transaction.</summary>
    public async Task<PublishOutcome> PublishAsync(string gun, IReadOnlyList<MetadataUpload> uploads, CancellationToken cancellationToken)
    {
        try
        {
            var outcome = await ValidateAndCommitAsync(gun, uploads, cancellationToken);
            var label = outcome.VersionConflict ? "VERSION" : outcome.Rejection is { } rejection ? rejection.NotaryName ?? "INVALID_UPDATE" : "accepted";
            metrics.Publishes.WithLabels(label).Inc();
            return outcome;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            metrics.Publishes.WithLabels("UPDATING").Inc();
            throw;
        }
    }

    private async Task<PublishOutcome> ValidateAndCommitAsync(string gun, IReadOnlyList<MetadataUpload> uploads, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var (state, timestampVersion) = await LoadStateAsync(gun, cancellationToken);
        metrics.PublishPhases.WithLabels("load").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        started = Stopwatch.GetTimestamp();
        var result = await _validator.ValidateAsync(gun, state, uploads, signer, cancellationToken);
        metrics.PublishPhases.WithLabels("validate").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        if (!result.IsAccepted)
        {
            LogRejected(gun, result.Error!.Kind, result.Error.Message);
            return new PublishOutcome(result.Error, result.Error.Kind == ValidationErrorKind.OldVersion);
        }

        started = Stopwatch.GetTimestamp();
        var outcome = await store.CommitAsync(gun, timestampVersion, result.Files, cancellationToken);
        metrics.PublishPhases.WithLabels("commit").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        cache.Invalidate(gun);
        if (outcome == CommitOutcome.VersionConflict)
        {
            LogConflict(gun);
            return new PublishOutcome(null, true);
        }

        LogPublished(gun, string.Join(",", result.Files.Select(f => $"{f.Role}@{f.Version}")));
        return PublishOutcome.Accepted;
    }

    /// <summary>Deletes every file of the repository (signer keys stay).</summary>
    public async Task<bool> DeleteAsync(string gun, CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteAsync(gun, cancellationToken);
        cache.Invalidate(gun);
        return deleted;
    }

    /// <summary>
    /// GET <c>{role}.key</c> of a published repository: the first key the signer holds among the current root's keys of
    /// the role; null when there is no root or the signer holds none of them (then the key is created, spec server-api.md §7.1).
    /// </summary>
    public async Task<TufPublicKey?> GetHeldKeyAsync(string gun, string role, CancellationToken cancellationToken)
    {
        var chain = await LoadChainAsync(store, gun, cancellationToken);
        var rootFile = chain is null ? null : await GetBySnapshotEntryAsync(store, gun, RoleName.Root, chain.Snapshot, cancellationToken);
        if (rootFile is not null)
        {
            var root = RootMetadata.FromEnvelope(SignedEnvelope.Parse(rootFile.Data));
            foreach (var keyId in root.Roles.GetValueOrDefault(role)?.KeyIds ?? [])
            {
                var held = await signer.GetKeyInfoAsync(keyId, cancellationToken);
                if (held is not null)
                {
                    return held.PublicKey;
                }
            }
        }

        return null;
    }

    /// <summary>POST <c>{role}.key</c>, and GET without a held key: the signer's pending key for (gun, role), created when there is none.</summary>
    public Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken) =>
        signer.CreateKeyAsync(gun, role, algorithm, cancellationToken);

    // The stored state the validator needs: current files through the chain, highest versions of every role.
    private async Task<(RepositoryState State, long? TimestampVersion)> LoadStateAsync(string gun, CancellationToken cancellationToken)
    {
        var latest = await store.GetLatestOfEachRoleAsync(gun, cancellationToken);
        var current = await GetCurrentFilesAsync(new LatestFirstReader(latest, store), gun, cancellationToken);
        var files = current.ToDictionary(f => f.Key, f => f.Value.Data, StringComparer.Ordinal);
        var highest = latest.ToDictionary(f => f.Key, f => f.Value.Version, StringComparer.Ordinal);
        return (new RepositoryState(files, highest), current.GetValueOrDefault(RoleName.Timestamp)?.Version);
    }

    /// <summary>
    /// Every current file of the repository as stored (no re-signing): the current timestamp, the snapshot it names
    /// and every role that snapshot names. Empty for an unknown repository.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, StoredFile>> GetCurrentFilesAsync(string gun, CancellationToken cancellationToken) =>
        await GetCurrentFilesAsync(new LatestFirstReader(await store.GetLatestOfEachRoleAsync(gun, cancellationToken), store), gun, cancellationToken);

    private async Task<IReadOnlyDictionary<string, StoredFile>> GetCurrentFilesAsync(IMetadataReader reader, string gun, CancellationToken cancellationToken)
    {
        var current = new Dictionary<string, StoredFile>(StringComparer.Ordinal);
        var chain = await LoadChainAsync(reader, gun, cancellationToken);
        if (chain is not null)
        {
            current[RoleName.Timestamp] = chain.Timestamp.File;
            current[RoleName.Snapshot] = chain.Snapshot.File;
            foreach (var role in chain.Snapshot.Metadata.Meta.Keys)
            {
                if (await GetBySnapshotEntryAsync(reader, gun, role, chain.Snapshot, cancellationToken) is { } file)
                {
                    current[role] = file;
                }
            }
        }

        return current;
    }

    /// <summary>
    /// The chain walk over one read of the latest file of each role: the current files are nearly always the latest
    /// ones, so a checksum that matches the latest file is answered from it (same bytes, same row) and only a
    /// mismatch goes to the database. One round trip instead of one per role.
    /// </summary>
    private sealed class LatestFirstReader(IReadOnlyDictionary<string, StoredFile> latest, IMetadataReader store) : IMetadataReader
    {
        public Task<StoredFile?> GetLatestAsync(string gun, string role, CancellationToken cancellationToken = default) =>
            Task.FromResult(latest.GetValueOrDefault(role));

        public Task<StoredFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken = default) =>
            latest.TryGetValue(role, out var file) && file.Version == version
                ? Task.FromResult<StoredFile?>(file)
                : store.GetByVersionAsync(gun, role, version, cancellationToken);

        public Task<StoredFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken = default) =>
            latest.TryGetValue(role, out var file) && string.Equals(file.Sha256, sha256, StringComparison.Ordinal)
                ? Task.FromResult<StoredFile?>(file)
                : store.GetByChecksumAsync(gun, role, sha256, cancellationToken);
    }

    private sealed record Parsed(StoredFile File, MetaListMetadata Metadata);

    private sealed record Chain(Parsed Timestamp, Parsed Snapshot);

    private sealed record FreshChain(Parsed Timestamp, Parsed Snapshot, DateTimeOffset TimestampServedAt);

    // Current timestamp (highest version) and the snapshot it names; null when the repository has no timestamp
    // or that snapshot is missing.
    private async Task<Chain?> LoadChainAsync(IMetadataReader reader, string gun, CancellationToken cancellationToken)
    {
        var timestamp = await reader.GetLatestAsync(gun, RoleName.Timestamp, cancellationToken);
        if (timestamp is null)
        {
            return null;
        }

        var timestampMetadata = Parse(timestamp, static bytes => MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(bytes)));
        var snapshotSha = Sha256Of(timestampMetadata, RoleName.Snapshot)
            ?? throw new TufFormatException("the current timestamp has no sha256 of the snapshot");
        var snapshot = await reader.GetByChecksumAsync(gun, RoleName.Snapshot, snapshotSha, cancellationToken);
        return snapshot is null
            ? null
            : new Chain(
                new Parsed(timestamp, timestampMetadata),
                new Parsed(snapshot, Parse(snapshot, static bytes => MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(bytes)))));

        // Parsed forms are kept only for what GETs read through the cache; an update's reads are used once (kept, every
        // publish would leave two parsed files behind that nothing reads again).
        MetaListMetadata Parse(StoredFile file, Func<byte[], MetaListMetadata> parse) =>
            reader == cache ? cache.Parsed(file, parse) : parse(file.Data);
    }

    private static async Task<StoredFile?> GetBySnapshotEntryAsync(IMetadataReader reader, string gun, string role, Parsed snapshot, CancellationToken cancellationToken)
    {
        var sha = Sha256Of(snapshot.Metadata, role);
        return sha is null ? null : await reader.GetByChecksumAsync(gun, role, sha, cancellationToken);
    }

    private static string? Sha256Of(MetaListMetadata metadata, string role) =>
        metadata.Meta.TryGetValue(role, out var entry) && entry.Hashes.TryGetValue(HashAlgorithmNames.Sha256, out var hash)
            ? Convert.ToHexStringLower(hash)
            : null;

    // Server-api.md §6: re-sign an expired snapshot (server-held key) and an expired or stale timestamp, store
    // both in one transaction; when another request or replica stored a newer timestamp first, serve that one.
    private async Task<FreshChain?> GetFreshChainAsync(string gun, CancellationToken cancellationToken)
    {
        // The cache first (the steady state); once something looks expired, only the database counts.
        IMetadataReader reader = cache;
        for (var attempt = 0; ; attempt++)
        {
            var chain = await LoadChainAsync(reader, gun, cancellationToken);
            if (chain is null)
            {
                return null;
            }

            var now = timeProvider.GetUtcNow();
            if (!chain.Snapshot.Metadata.Expires.IsExpiredAt(now) && !chain.Timestamp.Metadata.Expires.IsExpiredAt(now))
            {
                return new FreshChain(chain.Timestamp, chain.Snapshot, chain.Timestamp.File.CreatedAt);
            }

            if (reader == cache)
            {
                cache.Invalidate(gun);
                reader = store;
                continue;
            }

            var (files, fresh) = await ResignAsync(gun, chain, now, cancellationToken);
            var outcome = await store.CommitAsync(gun, chain.Timestamp.File.Version, files, cancellationToken);
            cache.Invalidate(gun);
            if (outcome == CommitOutcome.Committed)
            {
                LogResigned(gun, string.Join(",", files.Select(f => $"{f.Role}@{f.Version}")));
                foreach (var file in files)
                {
                    metrics.Resigns.WithLabels(file.Role).Inc();
                }

                return fresh;
            }

            if (attempt + 1 >= ResignAttempts)
            {
                throw new ServerSigningException("the timestamp kept changing while it was being re-signed");
            }
        }
    }

    private async Task<(List<MetadataFile> Files, FreshChain Fresh)> ResignAsync(string gun, Chain chain, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rootFile = await GetBySnapshotEntryAsync(store, gun, RoleName.Root, chain.Snapshot, cancellationToken)
            ?? throw new ServerSigningException("the current snapshot names no stored root");
        var root = LoadTrustedRoot(rootFile.Data, now);

        var files = new List<MetadataFile>();
        var snapshot = chain.Snapshot;
        if (snapshot.Metadata.Expires.IsExpiredAt(now))
        {
            var body = _builder.SnapshotBody(snapshot.Metadata, [new(RoleName.Root, rootFile.Data)]);
            var signed = await ServerMetadataBuilder.SignAsync(gun, root.GetBaseRole(RoleName.Snapshot), body, signer, cancellationToken)
                ?? throw new ServerSigningException("the snapshot expired and the server does not hold the snapshot key");
            var file = new MetadataFile(RoleName.Snapshot, snapshot.Metadata.Version + 1, signed);
            files.Add(file);
            snapshot = new Parsed(new StoredFile(file.Role, file.Version, signed, file.Sha256Hex, now), MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(signed)));
        }
        else
        {
            var problem = ThresholdVerifier.Verify(snapshot.Metadata.Envelope, root.GetBaseRole(RoleName.Snapshot));
            if (problem is not null)
            {
                throw new ServerSigningException("the current snapshot is not validly signed: " + problem);
            }
        }

        var timestampBody = _builder.TimestampBody(chain.Timestamp.Metadata, snapshot.File.Data);
        var timestamp = await ServerMetadataBuilder.SignAsync(gun, root.GetBaseRole(RoleName.Timestamp), timestampBody, signer, cancellationToken)
            ?? throw new ServerSigningException("the server does not hold the timestamp key");
        var timestampFile = new MetadataFile(RoleName.Timestamp, chain.Timestamp.Metadata.Version + 1, timestamp);
        files.Add(timestampFile);
        var fresh = new Parsed(
            new StoredFile(timestampFile.Role, timestampFile.Version, timestamp, timestampFile.Sha256Hex, now),
            MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(timestamp)));
        return (files, new FreshChain(fresh, snapshot, now));
    }

    // The root used for re-signing must be valid (signed by its own threshold) and unexpired (validation.md §3).
    private static RootMetadata LoadTrustedRoot(byte[] bytes, DateTimeOffset now)
    {
        var envelope = SignedEnvelope.Parse(bytes);
        var root = RootMetadata.FromEnvelope(envelope);
        var problem = ThresholdVerifier.Verify(envelope, root.GetBaseRole(RoleName.Root));
        if (problem is not null)
        {
            throw new ServerSigningException("the current root is not validly signed: " + problem);
        }

        if (root.Expires.IsExpiredAt(now))
        {
            throw new ServerSigningException($"the current root expired at {root.Expires.Text}");
        }

        return root;
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Update of {Gun} rejected: {Kind}: {Reason}")]
    private partial void LogRejected(string gun, ValidationErrorKind kind, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Update of {Gun} lost to a concurrent update")]
    private partial void LogConflict(string gun);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "Published {Gun}: {Files}")]
    private partial void LogPublished(string gun, string files);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Re-signed expired metadata of {Gun}: {Files}")]
    private partial void LogResigned(string gun, string files);
}
