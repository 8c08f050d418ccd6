namespace TrustServer.Tuf.Validation;

/// <summary>
/// How long the files the server signs stay valid from signing (notary-server: timestamp 14 days, snapshot 3 years),
/// and how early they are renewed: when less than <see cref="RenewWhenRemaining"/> of the lifetime is left.
/// </summary>
/// <param name="Timestamp">Lifetime of a server-signed timestamp.</param>
/// <param name="Snapshot">Lifetime of a server-signed snapshot.</param>
/// <param name="RenewWhenRemaining">Fraction of the lifetime, in (0, 1), below which a file is renewed ahead of expiry.</param>
public sealed record ServerLifetimes(TimeSpan Timestamp, TimeSpan Snapshot, double RenewWhenRemaining = ServerLifetimes.DefaultRenewWhenRemaining)
{
    /// <summary>Renew when less than a third of the lifetime is left.</summary>
    public const double DefaultRenewWhenRemaining = 1.0 / 3;

    /// <summary>notary-server's lifetimes: timestamp 14 days, snapshot 3 years (1095 days).</summary>
    public static readonly ServerLifetimes Default = new(TimeSpan.FromDays(14), TimeSpan.FromDays(1095));

    /// <summary>How long before its expiry a server-signed timestamp is renewed.</summary>
    public TimeSpan TimestampMargin => Timestamp * RenewWhenRemaining;

    /// <summary>How long before its expiry a server-signed snapshot is renewed.</summary>
    public TimeSpan SnapshotMargin => Snapshot * RenewWhenRemaining;
}
