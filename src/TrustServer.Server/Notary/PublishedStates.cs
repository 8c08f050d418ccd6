using Microsoft.Extensions.Caching.Memory;
using TrustServer.Data;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Notary;

/// <summary>
/// The latest stored file of each role of the repositories this replica has just committed updates to, as they stand
/// after its own commit: the next update of the same repository is validated against it without reading it back
/// (one database round trip less per publish, and no re-read of a large <c>targets.json</c>).
/// </summary>
/// <remarks>
/// <para>This is safe because the commit checks, under the repository's lock, that the highest stored timestamp is the
/// very file (by SHA-256) the update was validated against, and that every committed version is above the stored
/// one. The timestamp pins the snapshot, which pins every other current file, so a matching timestamp means the state
/// validated against is the stored one. When anything else wrote meanwhile (another replica, the re-signer, a deletion
/// and re-creation up to the same version), the commit is refused and <see cref="RepositoryPublisher"/> reads the
/// database and validates once more; it does the same before answering a rejection, which a stale state could cause.</para>
/// <para>Bounded by <see cref="MemoryBytes"/> (the files' bytes); an entry not added for lack of room, or evicted, only
/// means the next update reads the database.</para>
/// </remarks>
internal sealed class PublishedStates : IDisposable
{
    /// <summary>The most bytes of files kept; a repository's files are counted whole.</summary>
    public const long MemoryBytes = 8 * 1024 * 1024;

    // Entries nobody publishes to again are let go after this long.
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromMinutes(5);

    private readonly MemoryCache _states = new(new MemoryCacheOptions { SizeLimit = MemoryBytes });

    /// <summary>The latest file of each role as this replica committed it, or null when nothing is remembered.</summary>
    public IReadOnlyDictionary<string, StoredFile>? Find(string gun) =>
        _states.TryGetValue(gun, out IReadOnlyDictionary<string, StoredFile>? latest) ? latest : null;

    /// <summary>
    /// Remembers the state after a commit: <paramref name="before"/> (what the update was validated against) with the
    /// committed <paramref name="files"/> (all of them above the stored versions) in place of their roles.
    /// </summary>
    public void Remember(string gun, IReadOnlyDictionary<string, StoredFile> before, IReadOnlyList<MetadataFile> files, DateTimeOffset committedAt)
    {
        var latest = new Dictionary<string, StoredFile>(before, StringComparer.Ordinal);
        foreach (var file in files)
        {
            latest[file.Role] = new StoredFile(file.Role, file.Version, file.Data, file.Sha256Hex, committedAt);
        }

        // Two commits of one repository on this replica may finish in either order: keep the later timestamp. (A lost
        // race here leaves an older state behind, which the next commit refuses; it costs a re-read, never a wrong answer.)
        if (Find(gun) is { } known && Version(known) > Version(latest))
        {
            return;
        }

        var size = 256L + latest.Values.Sum(f => 128L + f.Data.Length);
        _states.Set(gun, (IReadOnlyDictionary<string, StoredFile>)latest, new MemoryCacheEntryOptions { Size = size, SlidingExpiration = IdleLifetime });
    }

    /// <summary>Forgets the repository (deleted, or its remembered state turned out stale).</summary>
    public void Forget(string gun) => _states.Remove(gun);

    public void Dispose() => _states.Dispose();

    private static long Version(IReadOnlyDictionary<string, StoredFile> latest) =>
        latest.TryGetValue(RoleName.Timestamp, out var timestamp) ? timestamp.Version : 0;
}
