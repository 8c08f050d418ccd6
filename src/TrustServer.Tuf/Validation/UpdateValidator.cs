using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Tuf.Validation;

/// <summary>
/// Decides whether an update to a repository is accepted and which files to store, following notary-server's
/// pipeline rule by rule (spec validation.md §1–§8): root, targets and delegations, snapshot (uploaded or
/// generated), timestamp (always generated), then the storage version rule. Server-signed files live
/// <paramref name="lifetimes"/> (default <see cref="ServerLifetimes.Default"/>).
/// </summary>
public sealed class UpdateValidator(TimeProvider timeProvider, ServerLifetimes? lifetimes = null)
{
    /// <summary>
    /// Highest version an uploaded file may carry: 2^53 − 1. Canonical JSON goes through doubles, so larger
    /// versions cannot be signed and verified reliably (spec tuf-metadata.md §8.2 rule 4).
    /// </summary>
    public const long MaxVersion = (1L << 53) - 1;

    /// <summary>
    /// How far an uploaded version may jump above the highest stored version of its role. Versions only ever
    /// grow, so an unbounded jump to <see cref="MaxVersion"/> would lock the role for good (Cure53 TUF-01-002);
    /// with this bound that takes millions of updates. Notary clients always step by one.
    /// </summary>
    public const long MaxVersionIncrement = 1L << 32;

    private readonly ServerMetadataBuilder _builder = new(timeProvider, lifetimes);
    private readonly TrustedRootCache _roots = new();

    /// <summary>Validates the uploads against the stored state; server files are signed through <paramref name="signer"/>.
    /// Exceptions from the signer (e.g. an unreachable remote signer) propagate.</summary>
    public async Task<UpdateResult> ValidateAsync(
        string gun, RepositoryState stored, IEnumerable<MetadataUpload> uploads, IServerSigner signer, CancellationToken cancellationToken = default)
    {
        var session = new Session(gun, stored, timeProvider.GetUtcNow(), _roots);
        try
        {
            var files = await session.RunAsync(uploads, _builder, signer, cancellationToken).ConfigureAwait(false);
            return UpdateResult.Accept(files);
        }
        catch (UpdateRejectedException rejected)
        {
            return UpdateResult.Reject(rejected.Error);
        }
    }

    private sealed class UpdateRejectedException(ValidationError error) : Exception(error.Message)
    {
        public ValidationError Error { get; } = error;
    }

    /// <summary>The state of one validation: what has been loaded and what still needs a snapshot checksum.</summary>
    private sealed class Session(string gun, RepositoryState stored, DateTimeOffset now, TrustedRootCache roots)
    {
        private readonly Dictionary<string, TargetsMetadata> _targets = new(StringComparer.Ordinal);

        // Roles loaded in this update whose bytes a snapshot must still vouch for (Go "loadedNotChecksummed").
        private readonly Dictionary<string, byte[]> _notChecksummed = new(StringComparer.Ordinal);
        private RootMetadata? _root;

        public async Task<List<MetadataFile>> RunAsync(
            IEnumerable<MetadataUpload> uploadList, ServerMetadataBuilder builder, IServerSigner signer, CancellationToken cancellationToken)
        {
            // The same role twice: the last one wins; uploaded timestamps are ignored (§1).
            var uploads = new Dictionary<string, MetadataUpload>(StringComparer.Ordinal);
            foreach (var upload in uploadList)
            {
                uploads[upload.Role] = upload;
            }

            uploads.Remove(RoleName.Timestamp);
            var files = new List<MetadataFile>();

            // 1. The trusted root from storage, expiry ignored; anything but "not found" is returned as is.
            var storedRoot = stored.CurrentFiles.GetValueOrDefault(RoleName.Root);
            if (storedRoot is not null)
            {
                var storedRootFile = Fail(ValidationErrorKind.InvalidUpdate, () => SignedEnvelope.Parse(storedRoot));
                _root = Fail(ValidationErrorKind.InvalidUpdate, () => LoadRoot(storedRootFile, previous: null, minVersion: 1, allowExpired: true));
                _notChecksummed[RoleName.Root] = storedRoot;
            }

            // 2. Root (§3).
            if (uploads.TryGetValue(RoleName.Root, out var rootUpload))
            {
                var currentVersion = _root?.Version ?? 1;
                var newVersion = rootUpload.File.Version;
                if (newVersion != currentVersion && newVersion != currentVersion + 1)
                {
                    throw Reject(ValidationErrorKind.BadRoot, $"Root modifications must increment the version. Current {currentVersion}, new {newVersion}");
                }

                // A fresh start with the stored root as the previous root (Go BootstrapNewBuilder).
                var previous = _root;
                _notChecksummed.Clear();
                _root = Fail(ValidationErrorKind.BadRoot, () => LoadRoot(rootUpload.File, previous, currentVersion, allowExpired: false));
                _notChecksummed[RoleName.Root] = rootUpload.File.Bytes;
                files.Add(ToFile(rootUpload));
            }
            else if (_root is null)
            {
                throw Reject(ValidationErrorKind.Validation, "no pre-existing root and no root provided in update.");
            }

            // 3. Targets and delegations, parents first (§4).
            var targetsRoles = uploads.Keys.Where(RoleName.IsTargetsRole).ToList();
            targetsRoles.Sort(RoleName.CompareForValidation);
            foreach (var role in targetsRoles)
            {
                LoadStoredAncestors(role);
                var upload = uploads[role];
                Fail(ValidationErrorKind.BadTargets, () => LoadTargets(role, upload.File, allowExpired: false));
                files.Add(ToFile(upload));
            }

            // 4. Snapshot: uploaded (§5.1) or generated (§5.2).
            byte[] snapshotBytes;
            if (uploads.TryGetValue(RoleName.Snapshot, out var snapshotUpload))
            {
                Fail(ValidationErrorKind.BadSnapshot, () => LoadSnapshot(snapshotUpload.File, uploads.Keys));
                snapshotBytes = snapshotUpload.File.Bytes;
                files.Add(ToFile(snapshotUpload));
            }
            else
            {
                snapshotBytes = await GenerateSnapshotAsync(builder, signer, cancellationToken).ConfigureAwait(false);
                files.Add(new MetadataFile(RoleName.Snapshot, SignedEnvelope.Parse(snapshotBytes).Version, snapshotBytes));
            }

            // 5. Timestamp, always generated, signed with the (new) root's timestamp keys (§6).
            var timestampBytes = await GenerateTimestampAsync(builder, signer, snapshotBytes, cancellationToken).ConfigureAwait(false);
            files.Add(new MetadataFile(RoleName.Timestamp, SignedEnvelope.Parse(timestampBytes).Version, timestampBytes));

            // 6. Storage rule: every version strictly greater than all stored versions of the role (§10.2).
            foreach (var file in files)
            {
                if (stored.HighestVersions.TryGetValue(file.Role, out var highest) && file.Version <= highest)
                {
                    throw Reject(ValidationErrorKind.OldVersion, $"{file.Role} version {file.Version} is not greater than the stored version {highest}");
                }
            }

            return files;
        }

        private MetadataFile ToFile(MetadataUpload upload) => new(upload.Role, upload.File.Version, upload.File.Bytes);

        private RootMetadata LoadRoot(SignedEnvelope file, RootMetadata? previous, long minVersion, bool allowExpired)
        {
            var root = previous is null ? roots.Validate(file, gun, now) : RootTrust.Validate(file, previous, gun, now);
            CheckVersion(root, RoleName.Root, minVersion);
            CheckExpiry(root, RoleName.Root, allowExpired);
            return root;
        }

        // Ancestors not uploaded in this request come from storage, top-down, expiry ignored; missing ones are
        // skipped (loading the child then fails), other errors are returned as is.
        private void LoadStoredAncestors(string role)
        {
            var missing = new List<string>();
            for (var ancestor = role; ancestor != RoleName.Targets;)
            {
                ancestor = RoleName.Parent(ancestor);
                if (!_targets.ContainsKey(ancestor))
                {
                    missing.Add(ancestor);
                }
            }

            for (var i = missing.Count - 1; i >= 0; i--)
            {
                if (stored.CurrentFiles.TryGetValue(missing[i], out var bytes))
                {
                    var ancestor = missing[i];
                    Fail(ValidationErrorKind.InvalidUpdate, () => LoadTargets(ancestor, SignedEnvelope.Parse(bytes), allowExpired: true));
                }
            }
        }

        private void LoadTargets(string role, SignedEnvelope file, bool allowExpired)
        {
            TargetsMetadata targets;
            if (role == RoleName.Targets)
            {
                // Base targets: signatures first, then structure and version (Go loadTargets).
                RequireThreshold(file, _root!.GetBaseRole(RoleName.Targets));
                targets = TargetsMetadata.FromEnvelope(file, role);
                CheckVersion(targets, role, 1);
            }
            else
            {
                // Delegations: find the role through loaded parents, then structure, version, signatures (Go loadDelegation).
                var delegation = FindDelegationRole(role);
                targets = TargetsMetadata.FromEnvelope(file, role);
                CheckVersion(targets, role, 1);
                RequireThreshold(file, delegation);
            }

            CheckExpiry(targets, role, allowExpired);
            _targets[role] = targets;
            _notChecksummed[role] = file.Bytes;
        }

        private BaseRole FindDelegationRole(string role)
        {
            if (!_targets.ContainsKey(RoleName.Targets))
            {
                throw new TufFormatException("targets must be loaded first");
            }

            // Walk down from targets: each intermediate role must be loaded and delegated by its parent.
            var chain = new List<string>();
            for (var ancestor = RoleName.Parent(role); ancestor != RoleName.Targets; ancestor = RoleName.Parent(ancestor))
            {
                chain.Insert(0, ancestor);
            }

            var parent = _targets[RoleName.Targets];
            foreach (var step in chain)
            {
                if (parent.FindDelegation(step, out _) is null || !_targets.TryGetValue(step, out var next))
                {
                    throw DelegationDoesNotExist(role);
                }

                parent = next;
            }

            var delegation = parent.FindDelegation(role, out _) ?? throw DelegationDoesNotExist(role);
            foreach (var key in delegation.Keys.Values)
            {
                using var certificate = Pem.FirstCertificate(key.Public);
                var problem = certificate is null ? null : CertificateRules.Validate(certificate, checkExpiry: false, now);
                if (problem is not null)
                {
                    throw new TufFormatException(problem);
                }
            }

            return delegation;
        }

        private static TufFormatException DelegationDoesNotExist(string role) =>
            new($"tuf: invalid role {role}. delegation does not exist");

        private void LoadSnapshot(SignedEnvelope file, IEnumerable<string> uploaded)
        {
            RequireThreshold(file, _root!.GetBaseRole(RoleName.Snapshot));
            var snapshot = MetaListMetadata.SnapshotFromEnvelope(file);
            CheckVersion(snapshot, RoleName.Snapshot, 1);
            CheckExpiry(snapshot, RoleName.Snapshot, allowExpired: false);

            // Every role loaded in this update must match its snapshot entry (root first, then targets roles).
            foreach (var (role, bytes) in _notChecksummed.OrderBy(r => r.Key == RoleName.Root ? 0 : 1).ThenBy(r => r.Key, Comparer<string>.Create(RoleName.CompareForValidation)))
            {
                var problem = FileMeta.CheckHashes(bytes, role, snapshot.Meta.GetValueOrDefault(role)?.Hashes);
                if (problem is not null)
                {
                    throw new TufFormatException(problem);
                }
            }

            CheckStoredEntries(snapshot, uploaded.ToHashSet(StringComparer.Ordinal));
        }

        // Stricter than notary-server (README, "Deviations from notary-server 0.7.0"): every role the snapshot names
        // and the update does not carry must be the stored current file, hash and length. Otherwise a snapshot-only
        // upload (e.g. one whose targets part was lost to a corrupt multipart boundary) would make the current chain
        // point at a file the server does not have.
        private void CheckStoredEntries(MetaListMetadata snapshot, HashSet<string> uploaded)
        {
            foreach (var (role, meta) in snapshot.Meta.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                if (uploaded.Contains(role))
                {
                    continue;
                }

                if (!stored.CurrentFiles.TryGetValue(role, out var bytes))
                {
                    throw new TufFormatException($"{role} is neither in the update nor stored");
                }

                var problem = FileMeta.CheckHashes(bytes, role, meta.Hashes)
                    ?? (meta.Length == bytes.Length ? null : $"length for {role} did not match: expected {meta.Length}, stored {bytes.Length}");
                if (problem is not null)
                {
                    throw new TufFormatException(problem);
                }
            }
        }

        private async Task<byte[]> GenerateSnapshotAsync(ServerMetadataBuilder builder, IServerSigner signer, CancellationToken cancellationToken)
        {
            MetaListMetadata? previous = null;
            if (stored.CurrentFiles.TryGetValue(RoleName.Snapshot, out var previousBytes))
            {
                var previousFile = Fail(ValidationErrorKind.InvalidUpdate, () => SignedEnvelope.Parse(previousBytes));
                previous = Fail(ValidationErrorKind.Validation, () => MetaListMetadata.SnapshotFromEnvelope(previousFile));
            }
            else if (!_targets.ContainsKey(RoleName.Targets))
            {
                throw Reject(ValidationErrorKind.Validation, "targets must be loaded first");
            }

            // Nothing has been checksummed yet, so this holds exactly the root and every targets role loaded in
            // this update: the entries a generated snapshot replaces (§5.2 step 3).
            var body = builder.SnapshotBody(previous, _notChecksummed);
            var file = await ServerMetadataBuilder.SignAsync(gun, _root!.GetBaseRole(RoleName.Snapshot), body, signer, cancellationToken).ConfigureAwait(false);
            if (file is not null)
            {
                return file;
            }

            // Notary's message, then the way out. When the timestamp key is missing too (a repository whose server
            // keys stayed with the server it came from), no single rotation by the notary client can help.
            var timestampHeld = await ServerMetadataBuilder.SignAsync(gun, _root.GetBaseRole(RoleName.Timestamp), body, signer, cancellationToken).ConfigureAwait(false) is not null;
            throw Reject(
                ValidationErrorKind.BadHierarchy,
                "no snapshot was included in update and server does not hold current snapshot key for repository; " + (timestampHeld
                    ? $"sign the snapshot on the client, or run \"{ServerKeyFix.RotateCommand(gun, RoleName.Snapshot)}\" against this server"
                    : ServerKeyFix.NeitherKeyHeld(gun)),
                RoleName.Snapshot);
        }

        private async Task<byte[]> GenerateTimestampAsync(
            ServerMetadataBuilder builder, IServerSigner signer, byte[] snapshotBytes, CancellationToken cancellationToken)
        {
            MetaListMetadata? previous = null;
            if (stored.CurrentFiles.TryGetValue(RoleName.Timestamp, out var previousBytes))
            {
                var previousFile = Fail(ValidationErrorKind.InvalidUpdate, () => SignedEnvelope.Parse(previousBytes));
                previous = Fail(ValidationErrorKind.Validation, () => MetaListMetadata.TimestampFromEnvelope(previousFile));
            }

            var body = builder.TimestampBody(previous, snapshotBytes);
            var file = await ServerMetadataBuilder.SignAsync(gun, _root!.GetBaseRole(RoleName.Timestamp), body, signer, cancellationToken).ConfigureAwait(false);

            // Notary's message, two spaces included (spec validation.md §6 step 4), then the way out.
            return file ?? throw Reject(
                ValidationErrorKind.BadRoot,
                $"no  timestamp keys exist on the server; the repository owner must run \"{ServerKeyFix.RotateCommand(gun, RoleName.Timestamp)}\" against this server");
        }

        // Go's minimum-version check, plus the bounds that keep versions signable and the role updatable.
        private void CheckVersion(RoleMetadata metadata, string role, long minVersion)
        {
            if (metadata.Version < minVersion)
            {
                throw new TufFormatException($"version {metadata.Version} is lower than current version {minVersion}");
            }

            if (metadata.Version > MaxVersion)
            {
                throw new TufFormatException($"version {metadata.Version} of {role} exceeds the maximum version {MaxVersion}");
            }

            var highest = stored.HighestVersions.GetValueOrDefault(role);
            if (metadata.Version > highest + MaxVersionIncrement)
            {
                throw new TufFormatException($"version {metadata.Version} of {role} jumps more than {MaxVersionIncrement} above the stored version {highest}");
            }
        }

        private void CheckExpiry(RoleMetadata metadata, string role, bool allowExpired)
        {
            if (!allowExpired && metadata.Expires.IsExpiredAt(now))
            {
                throw new TufFormatException($"{role} expired at {metadata.Expires.ToGoErrorFormat()}");
            }
        }

        private static void RequireThreshold(SignedEnvelope file, BaseRole role)
        {
            var problem = ThresholdVerifier.Verify(file, role);
            if (problem is not null)
            {
                throw new TufFormatException(problem);
            }
        }

        private static UpdateRejectedException Reject(ValidationErrorKind kind, string message, string? missing = null) =>
            new(new ValidationError(kind, message, missing));

        // Runs a load step and turns bad input into the rejection kind of that step.
        private static T Fail<T>(ValidationErrorKind kind, Func<T> step)
        {
            try
            {
                return step();
            }
            catch (TufFormatException e)
            {
                throw Reject(kind, e.Message);
            }
        }

        private static void Fail(ValidationErrorKind kind, Action step) => Fail(kind, () =>
        {
            step();
            return 0;
        });
    }
}
