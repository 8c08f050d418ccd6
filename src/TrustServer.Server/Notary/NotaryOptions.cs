using System.ComponentModel.DataAnnotations;
using TrustServer.Server.Options;

namespace TrustServer.Server.Notary;

/// <summary>Cache-Control lifetimes in seconds (notary-server's caching.max_age), 0 … 31536000; 0 means no-cache.</summary>
public sealed class CachingOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Caching:MaxAge";

    /// <summary>For <c>&lt;role&gt;.json</c>.</summary>
    [Range(0, 31536000)]
    public int CurrentMetadata { get; set; } = 300;

    /// <summary>For by-checksum and by-version URLs (immutable).</summary>
    [Range(0, 31536000)]
    public int ConsistentMetadata { get; set; } = 2592000;
}

/// <summary>The in-process read cache (<c>Caching:Memory</c>): coherent across replicas through the changefeed.</summary>
public sealed class ReadCacheOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Caching:Memory";

    /// <summary>Memory for cached files (approximate bytes).</summary>
    [Range(1024 * 1024, long.MaxValue)]
    public long MemoryBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// Longest time an entry is served without being re-read, whatever happens to notifications; 0 disables the cache.
    /// </summary>
    [Range(0, 3600)]
    public int MaxStalenessSeconds { get; set; } = 30;

    /// <summary>
    /// How often the changefeed is read, the bound when notifications are lost (PostgreSQL notifies every replica of
    /// the GUN written at once; SQLite has only this).
    /// </summary>
    [Range(1, 3600)]
    public int ChangefeedPollSeconds { get; set; } = 2;

    /// <summary>
    /// Stale-if-error: while the database fails, a read is answered with the file last read for it, for at most this
    /// long after that read and never past the file's own <c>signed.expires</c>; 0 turns it off. Repositories not
    /// read before the outage (and "not found") get Notary's error.
    /// </summary>
    [Range(0, 31536000)]
    public int StaleIfErrorSeconds { get; set; } = 300;
}

/// <summary>Which repositories the server accepts (notary-server's repositories.gun_prefixes).</summary>
public sealed class RepositoryOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Repositories";

    /// <summary>Allowed GUN prefixes, each ending with <c>/</c>; empty = all.</summary>
    public List<string> GunPrefixes { get; set; } = [];
}

/// <summary>Request limits. Over a limit is a 400 in the Notary envelope, never a 500.</summary>
public sealed class LimitsOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Limits";

    /// <summary>Largest metadata file accepted in an upload: the notary client refuses to download more than 100 MiB.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxFileBytes { get; set; } = 100L * 1024 * 1024;

    /// <summary>Largest upload request body.</summary>
    [Range(1024, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>Most parts in one upload (one per role).</summary>
    [Range(1, 100_000)]
    public int MaxParts { get; set; } = 1000;

    /// <summary>Longest GUN in UTF-8 bytes (notary's varchar(255) columns).</summary>
    [Range(1, 255)]
    public int MaxGunBytes { get; set; } = 255;

    /// <summary>
    /// Most uploads read, validated and stored at once; each holds its bytes (and, once its signatures check out, its
    /// parsed model) in memory. Further uploads wait unread for a turn.
    /// </summary>
    [Range(1, 10_000)]
    public int MaxConcurrentUploads { get; set; } = 4;

    /// <summary>How long an upload waits for a turn before it is answered <c>503 UNAVAILABLE</c> with <c>Retry-After</c>.</summary>
    [Range(1, 3600)]
    public int UploadQueueTimeoutSeconds { get; set; } = 30;
}

/// <summary>Binds the Notary routes' options once, validated at start (DESIGN.md §6).</summary>
internal static class NotaryOptionsExtensions
{
    public static IServiceCollection AddNotaryOptions(this IServiceCollection services)
    {
        services.AddValidatedOptions<CachingOptions>(CachingOptions.Section);
        services.AddValidatedOptions<ReadCacheOptions>(ReadCacheOptions.Section);
        services.AddValidatedOptions<RepositoryOptions>(RepositoryOptions.Section, o => o
            .Validate(o => o.GunPrefixes.All(IsValidPrefix), "Repositories:GunPrefixes: each prefix must end with '/', be a clean path and not start with '/' or '..'"));
        services.AddValidatedOptions<LimitsOptions>(LimitsOptions.Section);
        return services;
    }

    // notary-server's rules for gun_prefixes (config-and-ops.md §3).
    private static bool IsValidPrefix(string prefix) =>
        prefix.Length > 1 && prefix.EndsWith('/') && prefix.Trim() == prefix && !prefix.StartsWith('/') && !prefix.StartsWith("..", StringComparison.Ordinal)
        && NotaryRouter.CleanPath("/" + prefix) == "/" + prefix;
}
