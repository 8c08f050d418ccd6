namespace TrustServer.Signing;

/// <summary>Questions about an <see cref="ISigningService"/>'s keys that several callers ask.</summary>
public static class SigningServiceExtensions
{
    /// <summary>Whether the signer holds any of the keys (asked key by key, stopping at the first held).</summary>
    /// <param name="signer">The signing service.</param>
    /// <param name="keyIds">TUF key IDs, e.g. a role's keys from the root.</param>
    /// <param name="cancellationToken">Cancels the lookups.</param>
    /// <returns>True when at least one is held.</returns>
    public static async Task<bool> HoldsAnyAsync(this ISigningService signer, IEnumerable<string> keyIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(signer);
        ArgumentNullException.ThrowIfNull(keyIds);
        foreach (var keyId in keyIds)
        {
            if (await signer.GetKeyInfoAsync(keyId, cancellationToken).ConfigureAwait(false) is not null)
            {
                return true;
            }
        }

        return false;
    }
}
