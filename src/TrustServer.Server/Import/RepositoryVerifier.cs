using TrustServer.Data;
using TrustServer.Signing;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Remote;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Import;

/// <summary>
/// The verification after an import (issue 14 §2): the repository's current chain through the TUF core's
/// <see cref="ChainVerifier"/>, and whether the configured signer (embedded key store or remote signer) holds the
/// timestamp key and, when it is server-managed, the snapshot key that the current root lists.
/// </summary>
/// <param name="signer">The configured signer, or null when none can be used.</param>
/// <param name="timeProvider">The clock.</param>
/// <param name="keysStayWithSource">A mirror of a live server (<c>import notary-server</c>): its server keys are not
/// expected here, so a missing timestamp key is a warning naming the owner's rotation, not an error.</param>
public sealed class RepositoryVerifier(ISigningService? signer, TimeProvider timeProvider, bool keysStayWithSource = false)
{
    private readonly ChainVerifier _chain = new(timeProvider);

    /// <summary>Verifies the chain stored in <paramref name="store"/> (what the server will serve).</summary>
    public async Task VerifyStoredAsync(GunReport report, IMetadataReader store, CancellationToken cancellationToken)
    {
        var timestamp = await store.GetLatestAsync(report.Gun, RoleName.Timestamp, cancellationToken).ConfigureAwait(false);
        report.VerifiedFrom = "destination";
        await VerifyAsync(report, timestamp?.Data, async (role, sha256, ct) =>
            (await store.GetByChecksumAsync(report.Gun, role, sha256, ct).ConfigureAwait(false))?.Data, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Verifies the chain of the source's rows (dry run, or a repository that was not written).</summary>
    public Task VerifySourceAsync(GunReport report, SourceRepository repository, CancellationToken cancellationToken)
    {
        var byChecksum = new Dictionary<(string, string), byte[]>();
        foreach (var file in repository.Files)
        {
            byChecksum[(file.Role, file.Sha256)] = file.Data;
        }

        var timestamp = repository.Files.Where(f => f.Role == RoleName.Timestamp).MaxBy(f => f.Version)?.Data;
        report.VerifiedFrom = "source";
        return VerifyAsync(report, timestamp, (role, sha256, _) => ValueTask.FromResult(byChecksum.GetValueOrDefault((role, sha256))), cancellationToken);
    }

    private async Task VerifyAsync(GunReport report, byte[]? timestamp, ChecksumLookup lookup, CancellationToken cancellationToken)
    {
        if (timestamp is null)
        {
            // No files: deleted on the source (changefeed records only), or nothing current.
            return;
        }

        var result = await _chain.VerifyAsync(report.Gun, timestamp, lookup, cancellationToken).ConfigureAwait(false);
        report.Chain = result.Roles;
        report.Findings.AddRange(result.Findings.Select(f => new ReportFinding(f.Severity, f.Role, f.Message)));
        if (result.Root is { } root)
        {
            await CheckKeysAsync(report, root, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task CheckKeysAsync(GunReport report, RootMetadata root, CancellationToken cancellationToken)
    {
        foreach (var role in new[] { RoleName.Timestamp, RoleName.Snapshot })
        {
            var keys = root.Roles[role];
            var held = new List<string>();
            foreach (var keyId in keys.KeyIds)
            {
                if (await HoldsAsync(report, role, keyId, cancellationToken).ConfigureAwait(false))
                {
                    held.Add(keyId);
                }
            }

            report.Keys.Add(new KeyHolding(role, keys.KeyIds, held, keys.Threshold));
            var enough = held.Count >= keys.Threshold;
            if (role == RoleName.Timestamp && !enough && keysStayWithSource)
            {
                var expires = report.Chain.FirstOrDefault(r => r.Role == RoleName.Timestamp)?.Expires;
                report.Findings.Add(new(FindingSeverity.Warning, role,
                    $"the source server keeps the timestamp key: publishes fail until the owner runs `notary -s <this server> key rotate {report.Gun} timestamp -r`"
                    + (expires is { } at ? $", before the imported timestamp expires at {at:yyyy-MM-dd HH:mm} UTC" : string.Empty)
                    + $"; if the source manages the snapshot key too (Docker's default), first run `notary -s <source> key rotate {report.Gun} snapshot` there and import again"));
            }
            else if (role == RoleName.Timestamp && !enough)
            {
                report.Findings.Add(new(FindingSeverity.Error, role,
                    $"the signer does not hold the timestamp key {string.Join(", ", keys.KeyIds)} of root version {root.Version}: the server cannot publish or "
                    + "re-sign this repository (point the signer at notary-signer's database, run `import notary-signer-keys`, or have the owner run "
                    + $"`notary key rotate {report.Gun} timestamp -r`)"));
            }
            else if (role == RoleName.Snapshot)
            {
                // Whether the snapshot key is server-managed is not visible in the metadata: held means it is.
                report.Findings.Add(new(FindingSeverity.Info, role, enough
                    ? "server-managed: the signer holds the snapshot key"
                    : "client-managed: the signer does not hold the snapshot key (clients sign snapshots)"));
                if (!enough && report.Chain.FirstOrDefault(r => r.Role == RoleName.Snapshot) is { } snapshot && snapshot.Expires < timeProvider.GetUtcNow())
                {
                    report.Findings.Add(new(FindingSeverity.Error, role, "the snapshot expired and the signer does not hold its key: clients refuse the repository until the owner publishes"));
                }
            }
        }
    }

    private async Task<bool> HoldsAsync(GunReport report, string role, string keyId, CancellationToken cancellationToken)
    {
        if (signer is null)
        {
            return false;
        }

        try
        {
            return await signer.GetKeyInfoAsync(keyId, cancellationToken).ConfigureAwait(false) is not null;
        }
        catch (Exception ex) when (ex is KeyStoreException or SignerUnavailableException || StorageErrors.IsDatabaseFailure(ex))
        {
            report.Findings.Add(new(FindingSeverity.Error, role, $"the signer cannot give key {keyId}: {ex.Message}"));
            return false;
        }
    }
}
