using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>What a repository's server-signed chain needs at a given instant (spec server-api.md §6).</summary>
public enum RenewalNeed
{
    /// <summary>Timestamp and snapshot are valid for long enough.</summary>
    None,

    /// <summary>The timestamp must be re-signed (its snapshot stays).</summary>
    Timestamp,

    /// <summary>The snapshot must be re-signed, and therefore the timestamp that describes it too.</summary>
    SnapshotAndTimestamp,
}

/// <summary>One stored file of the chain: its exact bytes, version and parsed form.</summary>
/// <param name="Bytes">The file as stored and served.</param>
/// <param name="Metadata">Its parsed snapshot or timestamp.</param>
public sealed record ChainFile(byte[] Bytes, MetaListMetadata Metadata);

/// <summary>The current chain: the newest timestamp and the snapshot it names.</summary>
public sealed record CurrentChain(ChainFile Timestamp, ChainFile Snapshot);

/// <summary>The files a renewal produced: a new snapshot (only when it was renewed) and a new timestamp.</summary>
public sealed record RenewedChain(ChainFile? Snapshot, ChainFile Timestamp)
{
    /// <summary>The files to store, snapshot first.</summary>
    public IReadOnlyList<MetadataFile> Files { get; } =
        Snapshot is null
            ? [new(RoleName.Timestamp, Timestamp.Metadata.Version, Timestamp.Bytes)]
            : [new(RoleName.Snapshot, Snapshot.Metadata.Version, Snapshot.Bytes), new(RoleName.Timestamp, Timestamp.Metadata.Version, Timestamp.Bytes)];
}

/// <summary>The server cannot renew the chain (key not held, invalid root or snapshot); the message says why.</summary>
public class ChainRenewalException(string message) : Exception(message);

/// <summary>
/// The chain needs a server signature with a role's key that the server does not hold (a repository imported from a
/// server that kept its keys); the message names the fix the repository owner runs.
/// </summary>
public sealed class ServerKeyNotHeldException(string gun, string role)
    : ChainRenewalException(ServerKeyFix.ExpiredWithoutKey(gun, role))
{
    /// <summary>The role (timestamp or snapshot) whose key is missing.</summary>
    public string Role { get; } = role;
}

/// <summary>The texts that tell a repository owner how to give the server a key it does not hold.</summary>
public static class ServerKeyFix
{
    /// <summary>The command that makes this server's key the role's key: <c>notary key rotate &lt;gun&gt; &lt;role&gt; -r</c>.</summary>
    public static string RotateCommand(string gun, string role) => $"notary key rotate {gun} {role} -r";

    /// <summary>Neither snapshot nor timestamp key held (both stayed with a hosted server): the client's one-role rotations cannot help.</summary>
    public static string NeitherKeyHeld(string gun) =>
        "this server holds neither the snapshot nor the timestamp key: make the snapshot a client key on the server the "
        + $"repository came from (\"notary key rotate {gun} snapshot\"), import again, then rotate the timestamp key here";

    /// <summary>
    /// An expired file the server must re-sign with a key it does not hold. Clients refuse expired metadata, so the
    /// rotation alone no longer works: a fresh copy from the server holding the key comes first.
    /// </summary>
    public static string ExpiredWithoutKey(string gun, string role) =>
        $"the {role} of {gun} expired and this server does not hold its {role} key; import it again from the server "
        + $"that holds the key (reading it there re-signs it), then the repository owner must run \"{RotateCommand(gun, role)}\" against this server";
}

/// <summary>
/// The server's side of keeping a repository valid without its owner (spec server-api.md §6): decides whether the
/// current timestamp → snapshot chain needs re-signing, and builds and signs the next snapshot (when the server
/// holds its key) and timestamp. Pure apart from the <see cref="IServerSigner"/> port; the lazy re-sign on read and
/// the background renewer share it. New files live <paramref name="lifetimes"/> (default <see cref="ServerLifetimes.Default"/>).
/// </summary>
public sealed class ChainRenewal(TimeProvider timeProvider, ServerLifetimes? lifetimes = null)
{
    private readonly ServerMetadataBuilder _builder = new(timeProvider, lifetimes);

    /// <summary>
    /// What the chain needs at <paramref name="now"/>: a file needs renewing when it expires before
    /// <paramref name="now"/> + <paramref name="ahead"/> (zero: only once it has expired, as notary-server does on read).
    /// </summary>
    public static RenewalNeed Assess(CurrentChain chain, DateTimeOffset now, TimeSpan ahead = default) => Assess(chain, now, ahead, ahead);

    /// <summary>
    /// What the chain needs at <paramref name="now"/> when renewing ahead of expiry: the timestamp when it expires
    /// within <paramref name="timestampMargin"/>; the snapshot (and so the timestamp) when it expires within
    /// <paramref name="snapshotMargin"/> — null when the server does not hold the snapshot key (only the owner can
    /// renew it, so it is not considered).
    /// </summary>
    public static RenewalNeed Assess(CurrentChain chain, DateTimeOffset now, TimeSpan timestampMargin, TimeSpan? snapshotMargin)
    {
        ArgumentNullException.ThrowIfNull(chain);
        if (snapshotMargin is { } margin && chain.Snapshot.Metadata.Expires.IsExpiredAt(now + margin))
        {
            return RenewalNeed.SnapshotAndTimestamp;
        }

        return chain.Timestamp.Metadata.Expires.IsExpiredAt(now + timestampMargin) ? RenewalNeed.Timestamp : RenewalNeed.None;
    }

    /// <summary>
    /// The first instant at which <see cref="Assess(CurrentChain, DateTimeOffset, TimeSpan, TimeSpan?)"/> with these
    /// margins no longer answers <see cref="RenewalNeed.None"/>.
    /// </summary>
    public static DateTimeOffset DueAt(CurrentChain chain, TimeSpan timestampMargin, TimeSpan? snapshotMargin)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var due = chain.Timestamp.Metadata.Expires.Instant - timestampMargin;
        if (snapshotMargin is { } margin && chain.Snapshot.Metadata.Expires.Instant - margin < due)
        {
            due = chain.Snapshot.Metadata.Expires.Instant - margin;
        }

        // Expiry is "instant < now": at exactly instant - margin the file is still fresh enough.
        return due.AddTicks(1);
    }

    /// <summary>
    /// The earliest expiry among the files the server renews: the timestamp, and the snapshot when
    /// <paramref name="snapshotServerHeld"/>.
    /// </summary>
    public static DateTimeOffset EarliestServerExpiry(CurrentChain chain, bool snapshotServerHeld)
    {
        ArgumentNullException.ThrowIfNull(chain);
        var timestamp = chain.Timestamp.Metadata.Expires.Instant;
        var snapshot = chain.Snapshot.Metadata.Expires.Instant;
        return snapshotServerHeld && snapshot < timestamp ? snapshot : timestamp;
    }

    /// <summary>
    /// Re-signs what <paramref name="need"/> says against the current root <paramref name="rootFile"/>: the root must
    /// be signed by its own threshold and unexpired (validation.md §3); a snapshot that is kept must still be validly
    /// signed; the new snapshot keeps every entry of the old one and describes the current root's exact bytes.
    /// </summary>
    /// <exception cref="ChainRenewalException">The server cannot produce a valid chain.</exception>
    public async Task<RenewedChain> RenewAsync(
        string gun, byte[] rootFile, CurrentChain chain, RenewalNeed need, IServerSigner signer, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfEqual(need, RenewalNeed.None);
        var now = timeProvider.GetUtcNow();
        var root = LoadTrustedRoot(rootFile, now);

        ChainFile? renewedSnapshot = null;
        var snapshot = chain.Snapshot;
        if (need == RenewalNeed.SnapshotAndTimestamp)
        {
            var body = _builder.SnapshotBody(snapshot.Metadata, [new(RoleName.Root, rootFile)]);
            var signed = await ServerMetadataBuilder.SignAsync(gun, root.GetBaseRole(RoleName.Snapshot), body, signer, cancellationToken).ConfigureAwait(false)
                ?? throw new ServerKeyNotHeldException(gun, RoleName.Snapshot);
            snapshot = renewedSnapshot = new ChainFile(signed, MetaListMetadata.SnapshotFromEnvelope(SignedEnvelope.Parse(signed)));
        }
        else if (ThresholdVerifier.Verify(snapshot.Metadata.Envelope, root.GetBaseRole(RoleName.Snapshot)) is { } problem)
        {
            throw new ChainRenewalException("the current snapshot is not validly signed: " + problem);
        }

        var timestampBody = _builder.TimestampBody(chain.Timestamp.Metadata, snapshot.Bytes);
        var timestamp = await ServerMetadataBuilder.SignAsync(gun, root.GetBaseRole(RoleName.Timestamp), timestampBody, signer, cancellationToken).ConfigureAwait(false)
            ?? throw new ServerKeyNotHeldException(gun, RoleName.Timestamp);
        return new RenewedChain(renewedSnapshot, new ChainFile(timestamp, MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(timestamp))));
    }

    private static RootMetadata LoadTrustedRoot(byte[] bytes, DateTimeOffset now)
    {
        var envelope = SignedEnvelope.Parse(bytes);
        var root = RootMetadata.FromEnvelope(envelope);
        if (ThresholdVerifier.Verify(envelope, root.GetBaseRole(RoleName.Root)) is { } problem)
        {
            throw new ChainRenewalException("the current root is not validly signed: " + problem);
        }

        return root.Expires.IsExpiredAt(now) ? throw new ChainRenewalException($"the current root expired at {root.Expires.Text}") : root;
    }
}
