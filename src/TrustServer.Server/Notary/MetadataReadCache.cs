using System.Collections.Concurrent;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using TrustServer.Data;
using TrustServer.Server.Observability;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Notary;

/// <summary>
/// The read path's cache in front of the store (issue: performance): latest, by-version and by-checksum lookups,
/// including "not found", per GUN. Entries of a GUN are dropped when it changes — locally right after a write, on
/// other replicas when the changefeed shows it (<see cref="CacheInvalidationService"/>). A per-GUN generation taken
/// before the database read keeps a read that raced with an invalidation out of the cache. Entries are served
/// only while the changefeed is followed (<see cref="Resume"/> … <see cref="Suspend"/>), and for at most
/// <see cref="ReadCacheOptions.MaxStalenessSeconds"/> after they were read, the bound when every notification and
/// poll fails. Publishes never read through this cache: they validate against the database.
/// </summary>
/// <remarks>
/// Stale-if-error: when the database read fails, the file last read for the same lookup is served instead, for at
/// most <see cref="ReadCacheOptions.StaleIfErrorSeconds"/> after that read and never once the file's own
/// <c>signed.expires</c> has passed. "Not found" is never served that way (the error is: a repository that this
/// replica never saw may exist).
/// </remarks>
internal sealed class MetadataReadCache : IMetadataReader, IDisposable
{
    // Generations are striped by GUN hash: a collision only costs a miss, and memory stays fixed.
    private const int Stripes = 4096;

    private const string LatestSelector = "latest";

    private static readonly TimeSpan ExpirationScan = TimeSpan.FromSeconds(5);

    // How long a parsed timestamp/snapshot stays when nothing reads it (re-parsing one costs well under a millisecond).
    private static readonly TimeSpan ParsedIdleLifetime = TimeSpan.FromSeconds(30);

    private readonly IMetadataStore _store;
    private readonly MemoryCache _cache;
    private readonly TimeProvider _timeProvider;
    private readonly TrustServerMetrics _metrics;
    private readonly long[] _generations = new long[Stripes];

    // The database reads under way, one per lookup and generation (see LoadAsync).
    private readonly ConcurrentDictionary<Flight, Lazy<Task<StoredFile?>>> _reads = new();

    // The keys cached per GUN, so that a known change removes them (see Invalidate); untracked on eviction.
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<Key, byte>> _keysByGun = new(StringComparer.Ordinal);
    private readonly TimeSpan _maxStaleness;
    private readonly TimeSpan _staleIfError;
    private long _globalGeneration;
    private volatile bool _following;

    public MetadataReadCache(IMetadataStore store, IOptions<ReadCacheOptions> options, TimeProvider timeProvider, TrustServerMetrics metrics)
    {
        _store = store;
        _metrics = metrics;
        _timeProvider = timeProvider;
        _maxStaleness = TimeSpan.FromSeconds(options.Value.MaxStalenessSeconds);
        _staleIfError = TimeSpan.FromSeconds(options.Value.StaleIfErrorSeconds);
        _cache = new MemoryCache(new MemoryCacheOptions
        {
            SizeLimit = options.Value.MemoryBytes,
            Clock = new CacheClock(timeProvider),

            // Expired entries are let go only by a scan. With the default (a minute) every version of a large file
            // that a publish superseded stayed up to its expiry + 60 s: 100+ MiB of dead 250 KB targets files
            // under steady publishing (bench --only growth). The scan walks the entries, a few thousand at most.
            ExpirationScanFrequency = ExpirationScan,
        });
    }

    public bool Enabled => _maxStaleness > TimeSpan.Zero;

    /// <summary>Whether the changefeed is followed, so that hits are served (false until the follower first caught up).</summary>
    public bool Following => _following;

    /// <summary>Whether reads may be answered from what was read before when the database fails.</summary>
    public bool ServesStaleIfError => Enabled && _staleIfError > TimeSpan.Zero;

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
        // plus the entry. Superseded files are never read again and go after ParsedIdleLifetime; a current one is read
        // on every GET, which renews it. (Ten minutes, as before, kept two parsed files per publish: under steady
        // publishing thousands of dead entries, up to the cache's whole memory bound.)
        parsed = parse(file.Data);
        _cache.Set(key, parsed, new MemoryCacheEntryOptions { Size = 512 + (8 * file.Data.Length), SlidingExpiration = ParsedIdleLifetime });
        return parsed;
    }

    /// <summary>
    /// A value computed from a repository's whole current chain (the trust queries' <c>TrustView</c>), keyed by the GUN
    /// and the SHA-256 of the timestamp the chain starts at. The timestamp names the snapshot and the snapshot every
    /// other file by hash, so the key fixes the input: like <see cref="Parsed{T}"/> it never goes stale, and a change
    /// of the repository (a new timestamp, read through the coherent lookups) simply leads to a new key. Dropped after
    /// <see cref="ParsedIdleLifetime"/> without reads.
    /// </summary>
    public bool TryGetDerived<T>(string gun, string timestampSha256, out T? value)
        where T : class
    {
        value = null;
        return Enabled && _cache.TryGetValue((typeof(T), gun, timestampSha256), out value);
    }

    /// <summary>Keeps a value for <see cref="TryGetDerived{T}"/>; <paramref name="size"/> is its approximate size in bytes.</summary>
    public void SetDerived<T>(string gun, string timestampSha256, T value, long size)
        where T : class
    {
        if (Enabled)
        {
            _cache.Set((typeof(T), gun, timestampSha256), value, new MemoryCacheEntryOptions { Size = size, SlidingExpiration = ParsedIdleLifetime });
        }
    }

    /// <summary>
    /// The GUN changed: no entry read before is served again (its stripe's generation moves on) and its entries are
    /// removed. They are known to be superseded, so they are no use to stale-if-error either (a client that has seen
    /// the newer version would refuse them), and removing them at once is what keeps superseded versions of a large
    /// file from filling the cache under steady publishing (bench <c>--only growth</c>).
    /// </summary>
    public void Invalidate(string gun)
    {
        Interlocked.Increment(ref _generations[Stripe(gun)]);
        if (_keysByGun.TryRemove(gun, out var keys))
        {
            foreach (var key in keys.Keys)
            {
                _cache.Remove(key);
            }
        }
    }

    /// <summary>
    /// The changefeed is no longer followed (changes of other replicas may go unnoticed): every read goes to the
    /// database until <see cref="Resume"/>; entries stay for stale-if-error.
    /// </summary>
    public void Suspend() => _following = false;

    /// <summary>
    /// The changefeed is followed again (listening, and every change up to now applied): drops every entry read
    /// before — while not following, a change of another replica may have gone unnoticed — and serves hits again.
    /// </summary>
    public void Resume()
    {
        Interlocked.Increment(ref _globalGeneration);
        _following = true;
    }

    public void Dispose() => _cache.Dispose();

    private bool TryGet(Key key, out Task<StoredFile?> hit)
    {
        if (Enabled && _following && _cache.TryGetValue(key, out Entry? entry) && entry!.Generation == Generation(key.Gun)
            && _timeProvider.GetUtcNow() < entry.FreshUntil)
        {
            hit = entry.Result;
            return true;
        }

        hit = null!;
        return false;
    }

    // A miss joins the read of the same lookup already under way in the same generation, if any: when an entry expires
    // under load, every request for it used to miss at once and read the database in parallel (64 connections: 64
    // reads, new pooled connections opened for them, p99 in the hundreds of milliseconds). A read started before an
    // invalidation has the older generation, so a request after a change never joins it. The shared read is not
    // cancelled by any one request; each waits with its own token.
    private Task<StoredFile?> LoadAsync(Key key, Func<IMetadataStore, Key, CancellationToken, Task<StoredFile?>> load, CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return load(_store, key, cancellationToken);
        }

        var flight = new Flight(key, Generation(key.Gun));
        var read = _reads.GetOrAdd(flight, static (f, state) => new Lazy<Task<StoredFile?>>(
            () => state.Cache.ReadSharedAsync(f, state.Load), LazyThreadSafetyMode.ExecutionAndPublication), (Cache: this, Load: load)).Value;
        return read.IsCompleted ? read : read.WaitAsync(cancellationToken);
    }

    // The read of a flight, which leaves the table of reads under way once it is done.
    private async Task<StoredFile?> ReadSharedAsync(Flight flight, Func<IMetadataStore, Key, CancellationToken, Task<StoredFile?>> load)
    {
        try
        {
            return await ReadAndKeepAsync(flight.Key, flight.Generation, load);
        }
        finally
        {
            _reads.TryRemove(flight, out _);
        }
    }

    private async Task<StoredFile?> ReadAndKeepAsync(Key key, (long Global, long Gun) generation, Func<IMetadataStore, Key, CancellationToken, Task<StoredFile?>> load)
    {
        // The generation was taken before the read: an invalidation while the read runs keeps its (possibly old) result
        // out of the cache.
        var readAt = _timeProvider.GetUtcNow();
        StoredFile? file;
        try
        {
            file = await load(_store, key, CancellationToken.None);
        }
        catch (Exception e) when (StorageErrors.IsDatabaseFailure(e) && Stale(key) is { } stale)
        {
            _metrics.StaleReads.Inc();
            return stale;
        }

        if (Generation(key.Gun) == generation)
        {
            // Kept past its freshness for stale-if-error; "not found" is not served that way.
            var keep = file is null || _staleIfError < _maxStaleness ? _maxStaleness : _staleIfError;
            var entryOptions = new MemoryCacheEntryOptions { Size = 256 + (file?.Data.Length ?? 0), AbsoluteExpirationRelativeToNow = keep };
            entryOptions.RegisterPostEvictionCallback(Untrack, this);
            _keysByGun.GetOrAdd(key.Gun, static _ => new ConcurrentDictionary<Key, byte>()).TryAdd(key, 0);
            _cache.Set(key, new Entry(Task.FromResult(file), generation, readAt + _maxStaleness, readAt + _staleIfError), entryOptions);
        }

        return file;
    }

    // The file last read for the lookup, while within the stale-if-error window and its own expiry.
    private StoredFile? Stale(Key key)
    {
        if (!_cache.TryGetValue(key, out Entry? entry) || entry!.Result.Result is not { } file)
        {
            return null;
        }

        var now = _timeProvider.GetUtcNow();
        return now < entry.StaleUntil && now <= entry.Expires ? file : null;
    }

    // An entry left the cache (expired, evicted for space, removed); a replaced one is still there under its key.
    private static void Untrack(object key, object? value, EvictionReason reason, object? state)
    {
        if (reason == EvictionReason.Replaced || key is not Key entryKey || state is not MetadataReadCache cache
            || !cache._keysByGun.TryGetValue(entryKey.Gun, out var keys))
        {
            return;
        }

        keys.TryRemove(entryKey, out _);
        if (keys.IsEmpty)
        {
            // Only if the GUN still maps to this set. A key added between the check and the removal goes untracked:
            // that entry then waits for its expiry instead of being removed by the next change.
            cache._keysByGun.TryRemove(new KeyValuePair<string, ConcurrentDictionary<Key, byte>>(entryKey.Gun, keys));
        }
    }

    private (long Global, long Gun) Generation(string gun) => (Interlocked.Read(ref _globalGeneration), Interlocked.Read(ref _generations[Stripe(gun)]));

    private static int Stripe(string gun) => (int)((uint)StringComparer.Ordinal.GetHashCode(gun) % Stripes);

    private sealed record Key(string Gun, string Role, object Selector);

    private readonly record struct Flight(Key Key, (long Global, long Gun) Generation);

    private sealed class Entry(Task<StoredFile?> result, (long Global, long Gun) generation, DateTimeOffset freshUntil, DateTimeOffset staleUntil)
    {
        // UTC ticks of the file's signed.expires, parsed on first use (only stale-if-error needs it); -1 = not yet.
        private long _expiresTicks = -1;

        public Task<StoredFile?> Result { get; } = result;

        public (long Global, long Gun) Generation { get; } = generation;

        public DateTimeOffset FreshUntil { get; } = freshUntil;

        public DateTimeOffset StaleUntil { get; } = staleUntil;

        public DateTimeOffset Expires
        {
            get
            {
                var ticks = Interlocked.Read(ref _expiresTicks);
                if (ticks < 0)
                {
                    ticks = ReadExpires(Result.Result!.Data).UtcTicks;
                    Interlocked.Exchange(ref _expiresTicks, ticks);
                }

                return new DateTimeOffset(ticks, TimeSpan.Zero);
            }
        }

        // Unreadable metadata counts as expired: it is not served stale.
        private static DateTimeOffset ReadExpires(byte[] data)
        {
            try
            {
                return SignedEnvelope.Parse(data).Expires.Instant;
            }
            catch (TufFormatException)
            {
                return DateTimeOffset.MinValue;
            }
        }
    }

    private sealed class CacheClock(TimeProvider timeProvider) : Microsoft.Extensions.Internal.ISystemClock
    {
        public DateTimeOffset UtcNow => timeProvider.GetUtcNow();
    }
}
