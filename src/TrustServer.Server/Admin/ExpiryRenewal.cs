using TrustServer.Data;
using TrustServer.Signing;
using TrustServer.Tuf;
using TrustServer.Tuf.Metadata;
using TrustServer.Tuf.Validation;

namespace TrustServer.Server.Admin;

/// <summary>Who renews a current file before it expires, which keys must sign it, and the owner's command.</summary>
internal sealed record ExpiryRenewal(string RenewedBy, IReadOnlyList<string> Keys, long? Threshold, string? Command)
{
    /// <summary>The server re-signs it (background re-signer, and on read).</summary>
    public const string Server = "server";

    /// <summary>Only the owner's keys can renew it.</summary>
    public const string Owner = "owner";

    /// <summary>
    /// Describes the renewal of <paramref name="role"/> of a repository from its current files: keys and threshold
    /// from the current root (base roles) or the parent's delegation (delegations); timestamp and snapshot are the
    /// server's when the signer holds one of the root's keys for them.
    /// </summary>
    public static async Task<ExpiryRenewal> DescribeAsync(
        string gun, string role, IReadOnlyDictionary<string, StoredFile> current, ISigningService signer, CancellationToken cancellationToken)
    {
        var declaration = Declaration(role, current);
        var keys = declaration?.KeyIds ?? [];
        return role is RoleName.Timestamp or RoleName.Snapshot && await signer.HoldsAnyAsync(keys, cancellationToken)
            ? new ExpiryRenewal(Server, keys, declaration!.Threshold, null)
            : new ExpiryRenewal(Owner, keys, declaration?.Threshold, CommandFor(gun, role));
    }

    // The notary 0.7.0 client's commands: witness marks a targets role to be re-signed (new version and expiry) and
    // -p publishes it, which also re-signs a client-held snapshot; key rotate publishes a new root (signed with the
    // old root keys too), or hands timestamp or snapshot to the server (-r).
    private static string CommandFor(string gun, string role) => role switch
    {
        RoleName.Root => $"notary key rotate {gun} root",
        RoleName.Timestamp => ServerKeyFix.RotateCommand(gun, role),
        RoleName.Snapshot => $"notary witness -p {gun} targets",
        _ => $"notary witness -p {gun} {role}",
    };

    private static RoleKeys? Declaration(string role, IReadOnlyDictionary<string, StoredFile> current)
    {
        try
        {
            if (RoleName.IsDelegation(role))
            {
                return current.TryGetValue(RoleName.Parent(role), out var parent)
                    ? TargetsMetadata.FromEnvelope(SignedEnvelope.Parse(parent.Data), RoleName.Parent(role)).DelegationRoles.FirstOrDefault(r => r.Name == role)
                    : null;
            }

            return current.TryGetValue(RoleName.Root, out var root)
                ? RootMetadata.FromEnvelope(SignedEnvelope.Parse(root.Data)).Roles.GetValueOrDefault(role)
                : null;
        }
        catch (TufFormatException)
        {
            // Stored files were valid when accepted; an unreadable declaration is shown as unknown keys.
            return null;
        }
    }
}
