using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Tuf.Query;

/// <summary>Machine-readable reason codes of the trust queries (README "For registries and admission controllers").</summary>
public static class TrustReasonCodes
{
    /// <summary>No trusted role signs the name.</summary>
    public const string Unsigned = "unsigned";

    /// <summary>Trusted roles sign the name, but none at the requested digest.</summary>
    public const string DigestMismatch = "digest-mismatch";

    /// <summary>A role (root, targets or a delegation) is past its <c>expires</c>.</summary>
    public const string RoleExpired = "role-expired";

    /// <summary>A role's file does not verify: signatures below its threshold, unreadable, or not the file its parent names.</summary>
    public const string RoleInvalid = "role-invalid";

    /// <summary>A role the request requires does not sign the digest.</summary>
    public const string RequiredSignerMissing = "required-signer-missing";

    /// <summary>Fewer distinct trusted roles than the request's threshold sign the digest.</summary>
    public const string ThresholdNotMet = "threshold-not-met";

    /// <summary>The current root is not signed by a threshold of the pinned root key IDs.</summary>
    public const string RootNotPinned = "root-not-pinned";
}

/// <summary>Why something is not trusted: a <see cref="TrustReasonCodes"/> code, the role it concerns and a message.</summary>
public sealed record TrustProblem(string Code, string? Role, string Message);

/// <summary>
/// A targets role the walk reached, in walk order: its version, expiry, keys and threshold (as its parent delegates
/// them; the root's for <c>targets</c>), the paths it may sign (restricted by its ancestors' paths, as the notary client
/// restricts them; null = every path) and its targets. <see cref="Excluded"/> is set when the role is not trusted (expired,
/// signatures below threshold, unreadable); its targets are then reported but sign nothing, and its delegations are not walked.
/// </summary>
public sealed record WalkedRole(
    string Name,
    long Version,
    TufExpiry Expires,
    IReadOnlyList<string> KeyIds,
    long Threshold,
    IReadOnlyList<string>? Paths,
    IReadOnlyDictionary<string, FileMeta> Targets,
    TrustProblem? Excluded)
{
    /// <summary>Whether the role may sign <paramref name="name"/> (notary's <c>CheckPaths</c>: a plain prefix match).</summary>
    public bool Covers(string name) => Paths is null || Paths.Any(p => name.StartsWith(p, StringComparison.Ordinal));
}

/// <summary>One role's entry for a target name.</summary>
public sealed record TargetSigner(WalkedRole Role, FileMeta Meta);

/// <summary>
/// Walks a repository's current chain the way the notary 0.7.0 client does (<c>tuf/client</c> <c>downloadTargets</c> and
/// <c>Repo.WalkTargets</c>): the newest timestamp → the snapshot it names → root (trust on first use, <see cref="RootTrust"/>)
/// → targets → every delegation the snapshot names, each file checked against its parent's hashes, its signatures against
/// its signers' keys and threshold, and its expiry. Pure apart from the lookup; the answer is a <see cref="TrustView"/>.
/// </summary>
public static class TrustWalk
{
    /// <summary>Walks the chain starting at <paramref name="timestamp"/> (the current timestamp's bytes) at <paramref name="now"/>.</summary>
    public static async Task<TrustView> WalkAsync(string gun, byte[] timestamp, ChecksumLookup lookup, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(gun);
        ArgumentNullException.ThrowIfNull(timestamp);
        ArgumentNullException.ThrowIfNull(lookup);
        var state = new WalkState(gun, now);
        try
        {
            await state.RunAsync(timestamp, lookup, cancellationToken).ConfigureAwait(false);
        }
        catch (TufFormatException e)
        {
            state.Broken ??= new TrustProblem(TrustReasonCodes.RoleInvalid, state.CurrentRole, e.Message);
        }

        return state.ToView();
    }

    // Go's RestrictDelegationPathPrefixes: the child's paths that start with one of the parent's (null = all paths).
    internal static IReadOnlyList<string> Restrict(IReadOnlyList<string>? parentPaths, IReadOnlyList<string> childPaths) =>
        parentPaths is null ? childPaths : [.. childPaths.Where(c => parentPaths.Any(p => c.StartsWith(p, StringComparison.Ordinal)))];

    private sealed class WalkState(string gun, DateTimeOffset now)
    {
        private readonly List<WalkedRole> _roles = [];
        private DateTimeOffset _recheck = DateTimeOffset.MaxValue;
        private DateTimeOffset _since = DateTimeOffset.MinValue;
        private RootMetadata? _root;

        public TrustProblem? Broken { get; set; }

        public string CurrentRole { get; private set; } = RoleName.Timestamp;

        public TrustView ToView() => new(gun, now, _since, _recheck, _root, Broken, _roles);

        public async Task RunAsync(byte[] timestampBytes, ChecksumLookup lookup, CancellationToken cancellationToken)
        {
            var timestamp = MetaListMetadata.TimestampFromEnvelope(SignedEnvelope.Parse(timestampBytes));
            CurrentRole = RoleName.Snapshot;
            var snapshotEntry = timestamp.Meta.GetValueOrDefault(RoleName.Snapshot);
            var snapshot = MetaListMetadata.SnapshotFromEnvelope(await FetchAsync(RoleName.Snapshot, snapshotEntry, lookup, cancellationToken).ConfigureAwait(false));
            CurrentRole = RoleName.Root;
            var rootEnvelope = await FetchAsync(RoleName.Root, snapshot.Meta.GetValueOrDefault(RoleName.Root), lookup, cancellationToken).ConfigureAwait(false);
            var root = _root = RootTrust.Validate(rootEnvelope, previous: null, gun, now, out var sameOutcome);
            _since = sameOutcome.After;
            Until(sameOutcome.Before);

            // The chain's own files (root's signatures were checked by RootTrust): any failure here means a client
            // trusts nothing of the repository.
            foreach (var (role, file, expires) in new[]
                     {
                         (RoleName.Root, (SignedEnvelope?)null, root.Expires),
                         (RoleName.Timestamp, timestamp.Envelope, timestamp.Expires),
                         (RoleName.Snapshot, snapshot.Envelope, snapshot.Expires),
                     })
            {
                if (file is not null && ThresholdVerifier.Verify(file, root.GetBaseRole(role)) is { } problem)
                {
                    Broken = new TrustProblem(TrustReasonCodes.RoleInvalid, role, $"{role}: {problem}");
                    return;
                }

                if (Expired(role, expires) is { } expired)
                {
                    Broken = expired;
                    return;
                }
            }

            // Pre-order, children in file order, each restricted to its parent's paths (client downloadTargets).
            var pending = new List<(string Name, BaseRole Signers, IReadOnlyList<string>? Paths)>
            {
                (RoleName.Targets, root.GetBaseRole(RoleName.Targets), null),
            };
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (pending.Count > 0)
            {
                var (name, signers, paths) = pending[0];
                pending.RemoveAt(0);
                CurrentRole = name;
                if (!seen.Add(name) || snapshot.Meta.GetValueOrDefault(name) is not { } entry)
                {
                    continue; // a role the snapshot does not name does not exist for a client
                }

                var walked = await LoadTargetsAsync(name, entry, signers, paths, lookup, cancellationToken).ConfigureAwait(false);
                _roles.Add(walked.Role);
                if (walked.Role.Excluded is { } excluded)
                {
                    if (name == RoleName.Targets)
                    {
                        Broken = excluded; // the client refuses the whole repository (downloadTargets returns the error)
                        return;
                    }

                    continue;
                }

                var children = new List<(string, BaseRole, IReadOnlyList<string>?)>();
                foreach (var declaration in walked.Metadata!.DelegationRoles)
                {
                    BaseRole? keys;
                    try
                    {
                        keys = walked.Metadata.FindDelegation(declaration.Name, out _);
                    }
                    catch (TufFormatException)
                    {
                        continue; // Go's buildDelegationRoles drops a role with unknown keys
                    }

                    if (keys is not null)
                    {
                        children.Add((declaration.Name, keys, Restrict(paths, declaration.Paths)));
                    }
                }

                pending.InsertRange(0, children);
            }
        }

        private async Task<(WalkedRole Role, TargetsMetadata? Metadata)> LoadTargetsAsync(
            string name, FileMeta entry, BaseRole signers, IReadOnlyList<string>? paths, ChecksumLookup lookup, CancellationToken cancellationToken)
        {
            var empty = new Dictionary<string, FileMeta>();
            SignedEnvelope envelope;
            TargetsMetadata metadata;
            try
            {
                envelope = await FetchAsync(name, entry, lookup, cancellationToken).ConfigureAwait(false);
                metadata = TargetsMetadata.FromEnvelope(envelope, name);
            }
            catch (TufFormatException e)
            {
                return (new WalkedRole(name, 0, TufExpiry.Missing, [.. signers.Keys.Keys], signers.Threshold, paths, empty,
                    new TrustProblem(TrustReasonCodes.RoleInvalid, name, $"{name}: {e.Message}")), null);
            }

            var problem = ThresholdVerifier.Verify(envelope, signers) is { } signatureProblem
                ? new TrustProblem(TrustReasonCodes.RoleInvalid, name, $"{name}: {signatureProblem}")
                : Expired(name, metadata.Expires);
            return (new WalkedRole(name, metadata.Version, metadata.Expires, [.. signers.Keys.Keys], signers.Threshold, paths, metadata.Targets, problem), metadata);
        }

        // The file the parent's entry names by sha256, checked against every hash and the length of the entry.
        private async Task<SignedEnvelope> FetchAsync(string role, FileMeta? entry, ChecksumLookup lookup, CancellationToken cancellationToken)
        {
            if (entry?.Sha256Hex is not { } sha256)
            {
                throw new TufFormatException($"its parent names {role} without a sha256 hash");
            }

            var bytes = await lookup(role, sha256, cancellationToken).ConfigureAwait(false)
                ?? throw new TufFormatException($"the {role} file with sha256 {sha256} that its parent names is not stored");
            if ((FileMeta.CheckHashes(bytes, role, entry.Hashes) ?? (entry.Length == bytes.Length ? null : $"length for {role} did not match")) is { } problem)
            {
                throw new TufFormatException(problem);
            }

            return SignedEnvelope.Parse(bytes);
        }

        private TrustProblem? Expired(string role, TufExpiry expires)
        {
            if (expires.IsExpiredAt(now))
            {
                _since = expires.Instant > _since ? expires.Instant : _since;
                return new TrustProblem(TrustReasonCodes.RoleExpired, role, $"{role} expired at {expires.Text}");
            }

            Until(expires.Instant);
            return null;
        }

        private void Until(DateTimeOffset instant) => _recheck = instant < _recheck ? instant : _recheck;
    }
}
