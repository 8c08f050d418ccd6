using System.ComponentModel.DataAnnotations;

namespace TrustServer.Server.Options;

/// <summary>Where metadata is stored (<c>Storage</c> section; the connection string is <c>ConnectionStrings:Metadata</c>).</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Storage";

    /// <summary><c>Sqlite</c> (embedded default) or <c>Postgres</c>.</summary>
    public string Provider { get; set; } = "Sqlite";

    /// <summary>Apply pending migrations at start (the <c>migrate</c> command does it explicitly).</summary>
    public bool MigrateOnStartup { get; set; } = true;
}

/// <summary>Server-managed keys (<c>Signing</c> section).</summary>
public sealed class SigningOptions
{
    /// <summary>Configuration section.</summary>
    public const string Section = "Signing";

    /// <summary><c>Embedded</c> (key store in-process) or <c>Remote</c> (gRPC signer).</summary>
    public string Mode { get; set; } = "Embedded";

    /// <summary>Algorithm of new server-managed keys: <c>ecdsa</c> or <c>ed25519</c> (notary-server's trust_service.key_algorithm).</summary>
    [RegularExpression("^(ecdsa|ed25519)$", ErrorMessage = "Signing:KeyAlgorithm must be ecdsa or ed25519")]
    public string KeyAlgorithm { get; set; } = "ecdsa";

    /// <summary>
    /// Embedded mode: passphrase alias of new keys; the passphrase comes from <c>NOTARY_SIGNER_&lt;ALIAS&gt;</c>. When that
    /// variable is unset, the embedded default keeps a generated passphrase in <see cref="PassphraseFile"/>.
    /// </summary>
    [Required]
    public string PassphraseAlias { get; set; } = "embedded";

    /// <summary>Embedded mode: file holding a generated passphrase, used only when the environment variable is unset (created 0600 on first start).</summary>
    public string? PassphraseFile { get; set; } = "data/signing-passphrase";
}

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
