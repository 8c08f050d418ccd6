using System.ComponentModel.DataAnnotations;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Options;

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

    /// <summary>How long server-signed files live and when they are renewed (<c>Signing:Lifetimes</c>).</summary>
    public LifetimeOptions Lifetimes { get; set; } = new();

    /// <summary>The background re-signer (<c>Signing:Resigner</c>).</summary>
    public ResignerOptions Resigner { get; set; } = new();

    /// <summary>The rules of <see cref="Lifetimes"/> and <see cref="Resigner"/> (nested objects are not checked by data annotations).</summary>
    internal static Microsoft.Extensions.Options.OptionsBuilder<SigningOptions> ValidateNested(Microsoft.Extensions.Options.OptionsBuilder<SigningOptions> options) => options
        .Validate(o => InLifetimeBounds(o.Lifetimes.Timestamp), "Signing:Lifetimes:Timestamp must be between 00:01:00 and 3650.00:00:00")
        .Validate(o => InLifetimeBounds(o.Lifetimes.Snapshot), "Signing:Lifetimes:Snapshot must be between 00:01:00 and 3650.00:00:00")
        .Validate(o => o.Lifetimes.RenewWhenRemaining is > 0 and < 1, "Signing:Lifetimes:RenewWhenRemaining must be a fraction between 0 and 1 (exclusive)")
        .Validate(o => o.Resigner.BatchSize is >= 1 and <= 10_000, "Signing:Resigner:BatchSize must be between 1 and 10000")
        .Validate(o => o.Resigner.MaxPerSecond is > 0 and <= 100_000, "Signing:Resigner:MaxPerSecond must be positive (at most 100000)");

    private static bool InLifetimeBounds(TimeSpan lifetime) => lifetime >= LifetimeOptions.Shortest && lifetime <= LifetimeOptions.Longest;
}

/// <summary>Lifetimes of the files the server signs (<c>Signing:Lifetimes</c>), for publishing and re-signing alike.</summary>
public sealed class LifetimeOptions
{
    /// <summary>Configuration section (bound as <see cref="SigningOptions.Lifetimes"/>).</summary>
    public const string Section = "Signing:Lifetimes";

    /// <summary>The shortest lifetime accepted (for drills and tests).</summary>
    public static readonly TimeSpan Shortest = TimeSpan.FromMinutes(1);

    /// <summary>The longest lifetime accepted.</summary>
    public static readonly TimeSpan Longest = TimeSpan.FromDays(3650);

    /// <summary>Lifetime of a server-signed timestamp (notary-server: 14 days).</summary>
    public TimeSpan Timestamp { get; set; } = ServerLifetimes.Default.Timestamp;

    /// <summary>Lifetime of a server-signed snapshot (notary-server: 3 years).</summary>
    public TimeSpan Snapshot { get; set; } = ServerLifetimes.Default.Snapshot;

    /// <summary>Renew a server-signed file when less than this fraction of its lifetime is left.</summary>
    public double RenewWhenRemaining { get; set; } = ServerLifetimes.DefaultRenewWhenRemaining;

    /// <summary>The lifetimes as the TUF core takes them.</summary>
    public ServerLifetimes ToServerLifetimes() => new(Timestamp, Snapshot, RenewWhenRemaining);
}

/// <summary>The background re-signer (<c>Signing:Resigner</c>).</summary>
public sealed class ResignerOptions
{
    /// <summary>Configuration section (bound as <see cref="SigningOptions.Resigner"/>).</summary>
    public const string Section = "Signing:Resigner";

    /// <summary>Whether this replica takes part (one replica works at a time); off leaves only re-signing on read.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Repositories loaded per query at start, and renewed per round before the lease and the changefeed are checked again.</summary>
    public int BatchSize { get; set; } = 100;

    /// <summary>Upper bound on renewals per second (signer and database load).</summary>
    public double MaxPerSecond { get; set; } = 50;
}
