using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>How bad a finding of <see cref="ChainVerifier"/> is.</summary>
public enum FindingSeverity
{
    /// <summary>Worth knowing; nothing to do.</summary>
    Info,

    /// <summary>Clients work today but someone must act (e.g. an expired targets file the owner must re-sign).</summary>
    Warning,

    /// <summary>The repository is broken: clients refuse its current metadata.</summary>
    Error,
}

/// <summary>One finding about a role of a repository's current chain.</summary>
public sealed record ChainFinding(FindingSeverity Severity, string Role, string Message);

/// <summary>A current file of the chain as the verifier found it.</summary>
public sealed record ChainRole(string Role, long Version, string Sha256, DateTimeOffset Expires);

/// <summary>
/// The outcome of <see cref="ChainVerifier.VerifyAsync"/>: the current files it reached, its findings and the current
/// root (null when it could not be read), whose timestamp and snapshot keys the caller checks against its signer.
/// </summary>
public sealed record ChainReport(string Gun, IReadOnlyList<ChainRole> Roles, IReadOnlyList<ChainFinding> Findings, RootMetadata? Root)
{
    /// <summary>Whether some finding is an <see cref="FindingSeverity.Error"/>.</summary>
    public bool IsBroken => Findings.Any(f => f.Severity == FindingSeverity.Error);
}

/// <summary>The file of <c>role</c> whose SHA-256 (lowercase hex) is <c>sha256</c>, or null when it is not stored.</summary>
public delegate ValueTask<byte[]?> ChecksumLookup(string role, string sha256, CancellationToken cancellationToken);

/// <summary>
/// Checks a repository's current chain as a client walks it (spec validation.md §10.3): the newest timestamp → the
/// snapshot it names by hash → every role the snapshot names by hash; every file's hashes and length against its
/// parent's entry, its structure, its signatures against the thresholds of the current root (the root itself with
/// trust on first use, as notary-server accepts roots: <see cref="RootTrust"/>) or of the delegating role, and its
/// expiry. Used after imports (<c>import notary-db</c>, <c>import notary-server</c>); pure apart from the lookup.
/// </summary>
public sealed class ChainVerifier(TimeProvider timeProvider)
{
    /// <summary>
    /// Verifies the chain that starts at <paramref name="timestamp"/> (the newest stored timestamp's bytes). Expired
    /// timestamps and snapshots are warnings: the server re-signs them on the next read when it holds their keys,
    /// which the caller checks. Never throws for bad data.
    /// </summary>
    public async Task<ChainReport> VerifyAsync(string gun, byte[] timestamp, ChecksumLookup lookup, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(lookup);
        var walk = new Walk(gun, timeProvider.GetUtcNow());

        var timestampMeta = walk.Load(RoleName.Timestamp, timestamp, null, MetaListMetadata.TimestampFromEnvelope);
        if (timestampMeta is null)
        {
            return walk.Report(null);
        }

        var snapshotBytes = await walk.FetchAsync(RoleName.Snapshot, timestampMeta.Meta.GetValueOrDefault(RoleName.Snapshot), lookup, cancellationToken).ConfigureAwait(false);
        var snapshot = snapshotBytes is null
            ? null
            : walk.Load(RoleName.Snapshot, snapshotBytes, timestampMeta.Meta[RoleName.Snapshot], MetaListMetadata.SnapshotFromEnvelope);
        if (snapshot is null)
        {
            return walk.Report(null);
        }

        var rootBytes = await walk.FetchAsync(RoleName.Root, snapshot.Meta.GetValueOrDefault(RoleName.Root), lookup, cancellationToken).ConfigureAwait(false);
        var root = rootBytes is null ? null : walk.Load(RoleName.Root, rootBytes, snapshot.Meta[RoleName.Root], walk.LoadRoot);
        if (root is null)
        {
            return walk.Report(null);
        }

        walk.CheckSignatures(RoleName.Timestamp, timestampMeta.Envelope, root.GetBaseRole(RoleName.Timestamp));
        walk.CheckSignatures(RoleName.Snapshot, snapshot.Envelope, root.GetBaseRole(RoleName.Snapshot));

        // Parents before children, so each delegation is checked against its loaded parent.
        var loaded = new Dictionary<string, TargetsMetadata>(StringComparer.Ordinal);
        var targetsRoles = snapshot.Meta.Keys.Where(RoleName.IsTargetsRole).ToList();
        targetsRoles.Sort(RoleName.CompareForValidation);
        if (!targetsRoles.Contains(RoleName.Targets))
        {
            walk.Add(FindingSeverity.Error, RoleName.Targets, "the snapshot does not name targets");
        }

        foreach (var role in targetsRoles)
        {
            var bytes = await walk.FetchAsync(role, snapshot.Meta[role], lookup, cancellationToken).ConfigureAwait(false);
            var targets = bytes is null ? null : walk.Load(role, bytes, snapshot.Meta[role], envelope => TargetsMetadata.FromEnvelope(envelope, role));
            if (targets is null)
            {
                continue;
            }

            BaseRole? signers;
            if (role == RoleName.Targets)
            {
                signers = root.GetBaseRole(RoleName.Targets);
            }
            else if (!loaded.TryGetValue(RoleName.Parent(role), out var parent))
            {
                walk.Add(FindingSeverity.Error, role, $"its parent {RoleName.Parent(role)} is not in the current chain");
                continue;
            }
            else
            {
                signers = walk.Try(role, () => parent.FindDelegation(role, out _)
                    ?? throw new TufFormatException($"{RoleName.Parent(role)} does not delegate to it"));
                if (signers is null)
                {
                    continue;
                }
            }

            walk.CheckSignatures(role, targets.Envelope, signers);
            loaded[role] = targets;
        }

        return walk.Report(root);
    }

    // The state of one verification.
    private sealed class Walk(string gun, DateTimeOffset now)
    {
        private readonly List<ChainFinding> _findings = [];
        private readonly List<ChainRole> _roles = [];

        public void Add(FindingSeverity severity, string role, string message) => _findings.Add(new(severity, role, message));

        public ChainReport Report(RootMetadata? root) => new(gun, _roles, _findings, root);

        public RootMetadata LoadRoot(SignedEnvelope envelope) => RootTrust.Validate(envelope, previous: null, gun, now);

        // The file its parent's entry names by SHA-256; null (and an error) when there is no entry or no such file.
        public async Task<byte[]?> FetchAsync(string role, FileMeta? entry, ChecksumLookup lookup, CancellationToken cancellationToken)
        {
            if (entry?.Sha256Hex is not { } hex)
            {
                Add(FindingSeverity.Error, role, "its parent names it without a sha256 hash");
                return null;
            }

            var bytes = await lookup(role, hex, cancellationToken).ConfigureAwait(false);
            if (bytes is null)
            {
                Add(FindingSeverity.Error, role, $"the file with sha256 {hex} its parent names is not stored");
            }

            return bytes;
        }

        // Hashes and length against the parent's entry, then the parse step; null (and an error) on failure.
        public T? Load<T>(string role, byte[] bytes, FileMeta? entry, Func<SignedEnvelope, T> parse)
            where T : RoleMetadata
        {
            if (entry is not null)
            {
                var problem = FileMeta.CheckHashes(bytes, role, entry.Hashes)
                    ?? (entry.Length == bytes.Length ? null : $"length for {role} did not match: expected {entry.Length}, stored {bytes.Length}");
                if (problem is not null)
                {
                    Add(FindingSeverity.Error, role, problem);
                    return null;
                }
            }

            var metadata = Try(role, () => parse(SignedEnvelope.Parse(bytes)));
            if (metadata is null)
            {
                return null;
            }

            _roles.Add(new ChainRole(role, metadata.Version, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes)), metadata.Expires.Instant));
            if (metadata.Expires.IsExpiredAt(now))
            {
                var server = role is RoleName.Timestamp or RoleName.Snapshot;
                Add(FindingSeverity.Warning, role, server
                    ? $"expired at {metadata.Expires.Text}: re-signed on the next read when the server holds its key"
                    : $"expired at {metadata.Expires.Text}: clients refuse it until the repository owner publishes a new version");
            }

            return metadata;
        }

        public void CheckSignatures(string role, SignedEnvelope file, BaseRole signers)
        {
            var problem = ThresholdVerifier.Verify(file, signers);
            if (problem is not null)
            {
                Add(FindingSeverity.Error, role, problem);
            }
        }

        public T? Try<T>(string role, Func<T> step)
            where T : class
        {
            try
            {
                return step();
            }
            catch (TufFormatException e)
            {
                Add(FindingSeverity.Error, role, e.Message);
                return null;
            }
        }
    }
}
