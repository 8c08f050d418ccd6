using TrustServer.Data;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>A file to serve and the time for its <c>Last-Modified</c> header.</summary>
internal sealed record ServedFile(byte[] Data, string Sha256, DateTimeOffset LastModified)
{
    public static ServedFile Of(StoredFile file) => new(file.Data, file.Sha256, file.CreatedAt);
}

/// <summary>One stored file of the chain and its parsed snapshot or timestamp.</summary>
internal sealed record ParsedFile(StoredFile File, MetaListMetadata Metadata)
{
    public ChainFile ToChainFile() => new(File.Data, Metadata);
}

/// <summary>The current timestamp (highest version) and the snapshot it names.</summary>
internal sealed record StoredChain(ParsedFile Timestamp, ParsedFile Snapshot)
{
    public CurrentChain ToCurrentChain() => new(Timestamp.ToChainFile(), Snapshot.ToChainFile());
}

/// <summary>
/// Current metadata as Notary defines it: the newest timestamp, the snapshot it names and every role that snapshot
/// names, each found by checksum (spec validation.md §10.3). GETs read through <see cref="MetadataReadCache"/>;
/// updates, re-signing and key lookups pass the store (or a reader over one query's rows) and read the database.
/// Files are never re-signed here (<see cref="LazyResigner"/> does that for timestamp and snapshot).
/// </summary>
internal sealed class CurrentChainReader(IMetadataStore store, MetadataReadCache cache)
{
    /// <summary>The current file of root, targets or a delegation: the one the current snapshot names; null when none.</summary>
    public async Task<ServedFile?> GetCurrentAsync(string gun, string role, CancellationToken cancellationToken)
    {
        var chain = await LoadChainAsync(cache, gun, cancellationToken);
        var file = chain is null ? null : await GetBySnapshotEntryAsync(cache, gun, role, chain.Snapshot, cancellationToken);
        return file is null ? null : ServedFile.Of(file);
    }

    /// <summary>A stored version of a role (never re-signed).</summary>
    public async Task<ServedFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken) =>
        await cache.GetByVersionAsync(gun, role, version, cancellationToken) is { } file ? ServedFile.Of(file) : null;

    /// <summary>A stored file of a role by its SHA-256 (never re-signed).</summary>
    public async Task<ServedFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken) =>
        await cache.GetByChecksumAsync(gun, role, sha256, cancellationToken) is { } file ? ServedFile.Of(file) : null;

    /// <summary>
    /// Every current file of the repository as stored in the database (no re-signing): the current timestamp, the
    /// snapshot it names and every role that snapshot names. Empty for an unknown repository.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, StoredFile>> GetCurrentFilesAsync(string gun, CancellationToken cancellationToken) =>
        await GetCurrentFilesAsync(await LatestFirstAsync(gun, cancellationToken), gun, cancellationToken);

    /// <summary>
    /// A reader over one query for the latest file of each role, falling back to the database: the current files
    /// are nearly always the latest ones, so the chain walk costs one round trip instead of one per role.
    /// </summary>
    public async Task<LatestFirstReader> LatestFirstAsync(string gun, CancellationToken cancellationToken) =>
        new(await store.GetLatestOfEachRoleAsync(gun, cancellationToken), store);

    /// <inheritdoc cref="GetCurrentFilesAsync(string, CancellationToken)"/>
    public async Task<IReadOnlyDictionary<string, StoredFile>> GetCurrentFilesAsync(IMetadataReader reader, string gun, CancellationToken cancellationToken)
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
    /// The current timestamp (highest version) and the snapshot it names; null when the repository has no timestamp
    /// or that snapshot is missing. Reads through the cache keep the parsed forms there (content-addressed).
    /// </summary>
    public async Task<StoredChain?> LoadChainAsync(IMetadataReader reader, string gun, CancellationToken cancellationToken)
    {
        var timestamp = await reader.GetLatestAsync(gun, RoleName.Timestamp, cancellationToken);
        if (timestamp is null)
        {
            return null;
        }

        var timestampMetadata = Parse(timestamp, static bytes => MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(bytes)));
        var snapshotSha = timestampMetadata.Meta.GetValueOrDefault(RoleName.Snapshot)?.Sha256Hex
            ?? throw new TufFormatException("the current timestamp has no sha256 of the snapshot");
        var snapshot = await reader.GetByChecksumAsync(gun, RoleName.Snapshot, snapshotSha, cancellationToken);
        return snapshot is null
            ? null
            : new StoredChain(
                new ParsedFile(timestamp, timestampMetadata),
                new ParsedFile(snapshot, Parse(snapshot, static bytes => MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(bytes)))));

        // Parsed forms are kept only for what GETs read through the cache; an update's reads are used once (kept, every
        // publish would leave two parsed files behind that nothing reads again).
        MetaListMetadata Parse(StoredFile file, Func<byte[], MetaListMetadata> parse) =>
            reader == cache ? cache.Parsed(file, parse) : parse(file.Data);
    }

    /// <summary>The stored file of <paramref name="role"/> that the snapshot names (by its sha256), or null.</summary>
    public static async Task<StoredFile?> GetBySnapshotEntryAsync(IMetadataReader reader, string gun, string role, ParsedFile snapshot, CancellationToken cancellationToken)
    {
        var sha = snapshot.Metadata.Meta.GetValueOrDefault(role)?.Sha256Hex;
        return sha is null ? null : await reader.GetByChecksumAsync(gun, role, sha, cancellationToken);
    }
}

/// <summary>The latest file of each role from one query; lookups that do not match it go to the store.</summary>
internal sealed class LatestFirstReader(IReadOnlyDictionary<string, StoredFile> latest, IMetadataReader store) : IMetadataReader
{
    /// <summary>The latest file of every role, as read.</summary>
    public IReadOnlyDictionary<string, StoredFile> Latest => latest;

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
