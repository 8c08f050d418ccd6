using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>
/// The read path's cache in front of the store (issue: performance): latest, by-version and by-checksum lookups,
/// including "not found", per GUN. Entries of a GUN are dropped when it changes — locally right after a write, on
/// other replicas when the changefeed shows it (<see cref="CacheInvalidationService"/>). A per-GUN generation taken
/// before the database read keeps a read that raced with an invalidation out of the cache. Entries also expire
/// after <see cref="ReadCacheOptions.MaxStalenessSeconds"/>, the bound when every notification and poll fails.
/// Publishes never read through this cache: they validate against the database.
/// </summary>
internal sealed class MetadataReadCache : IMetadataReader, IDisposable
{
    // Generations are striped by GUN hash: a collision only costs a miss, and memory stays fixed.
    private const int Stripes = 4096;

    private const string LatestSelector = "latest";

    private static readonly TimeSpan ExpirationScan = TimeSpan.FromSeconds(5);

    private readonly IMetadataStore _store;
    private readonly MemoryCache _cache;
    private readonly long[] _generations = new long[Stripes];
    private readonly TimeSpan _maxStaleness;
    private long _globalGeneration;

    public MetadataReadCache(IMetadataStore store, IOptions<ReadCacheOptions> options, TimeProvider timeProvider)
    {
        _store = store;
        _maxStaleness = TimeSpan.FromSeconds(options.Value.MaxStalenessSeconds);
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.Value.MemoryBytes,
            Clock = new CacheClock(timeProvider),

            // Expired entries are let go only by a scan. With the default (a minute) every version of a large file
            // that a publish superseded stayed up to MaxStaleness + 60 s: 100+ MiB of dead 250 KB targets files
            // under steady publishing (bench --only growth). The scan walks the entries, a few thousand at most.
            ExpirationScanFrequency = ExpirationScan,
        });
    }

    public bool Enabled => _maxStaleness > TimeSpan.Zero;

    // A hit returns the entry's completed task: no closure, state machine or task is allocated in the steady state.
    public Task<StoredFile?> GetLatestAsync(string gun, string role, CancellationToken cancellationToken = default)
    {
        var key = new Key(gun, role, LatestSelector);
        return TryGet(key, out var hit) ? hit : LoadAsync(key, (store, k, ct) => store.GetLatestAsync(k.Gun, k.Role, ct), cancellationToken);
    }

    public Task<StoredFile?> GetByVersionAsync(string gun, string role, long version, CancellationToken cancellationToken = default)
    {
        var key = new Key(gun, role, version);
        return TryGet(key, out var hit) ? hit : LoadAsync(key, (store, k, ct) => store.GetByVersionAsync(k.Gun, k.Role, (long)k.Selector, ct), cancellationToken);
    }

    public Task<StoredFile?> GetByChecksumAsync(string gun, string role, string sha256, CancellationToken cancellationToken = default)
    {
        var key = new Key(gun, role, sha256);
        return TryGet(key, out var hit) ? hit : LoadAsync(key, (store, k, ct) => store.GetByChecksumAsync(k.Gun, k.Role, (string)k.Selector, ct), cancellationToken);
    }

    /// <summary>
    /// The parsed form of a stored file, keyed by its SHA-256: content-addressed, so it never goes stale (parsing the
    /// timestamp and snapshot on every read would otherwise dominate the steady state).
    /// </summary>
    public T Parsed<T>(StoredFile file, Func<byte[], T> parse)
        where T : class
    {
        if (!Enabled)
        {
            return parse(file.Data);
        }

        var key = (typeof(T), file.Sha256);
        if (_cache.TryGetValue(key, out T? parsed))
        {
            return parsed!;
        }

        // Size: a parsed timestamp or snapshot holds about seven times its bytes (measured: 6.8 KB for 946 bytes),
        // plus the entry. Superseded files are never read again; the sliding expiry lets them go.
        parsed = parse(file.Data);
        _cache.Set(key, parsed, new MemoryCacheEntryOptions { Size = 512 + (8 * file.Data.Length), SlidingExpiration = TimeSpan.FromMinutes(10) });
        return parsed;
    }

    /// <summary>Drops every entry of <paramref name="gun"/> (its stripe).</summary>
    public void Invalidate(string gun) => Interlocked.Increment(ref _generations[Stripe(gun)]);

    /// <summary>Drops everything (the change feed could not be followed).</summary>
    public void InvalidateAll() => Interlocked.Increment(ref _globalGeneration);

    public void Dispose() => _cache.Dispose();

    private bool TryGet(Key key, out Task<StoredFile?> hit)
    {
        if (Enabled && _cache.TryGetValue(key, out Entry? entry) && entry!.Generation == Generation(key.Gun))
        {
            hit = entry.Result;
            return true;
        }

        hit = null!;
        return false;
    }

    private async Task<StoredFile?> LoadAsync(Key key, Func<IMetadataStore, Key, CancellationToken, Task<StoredFile?>> load, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return await load(_store, key, cancellationToken);
        }

        // Taken before the read: an invalidation while the read runs keeps its (possibly old) result out of the cache.
        var generation = Generation(key.Gun);
        var file = await load(_store, key, cancellationToken);
        if (Generation(key.Gun) == generation)
        {
            _cache.Set(key, new Entry(Task.FromResult(file), generation), new MemoryCacheEntryOptions
            {
                Size = 256 + (file?.Data.Length ?? 0),
                AbsoluteExpirationRelativeToNow = _maxStaleness,
            });
        }

        return file;
    }

    private (long Global, long Gun) Generation(string gun) => (Interlocked.Read(ref _globalGeneration), Interlocked.Read(ref _generations[Stripe(gun)]));

    private static int Stripe(string gun) => (int)((uint)StringComparer.Ordinal.GetHashCode(gun) % Stripes);

    private sealed record Key(string Gun, string Role, object Selector);

    private sealed record Entry(Task<StoredFile?> Result, (long Global, long Gun) Generation);

    private sealed class CacheClock(TimeProvider timeProvider) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }
}
