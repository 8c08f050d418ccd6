namespace TrustServer.Signing;

/// <summary>
/// The health of a signer that can be down while the server runs (notary-server's "Trust operational" check, spec
/// server-api.md §11). Registered only where such a signer is used (<c>Signing:Mode = Remote</c>); without one, the
/// signer counts as healthy.
/// </summary>
public interface ISignerHealth
{
    /// <summary>Null when the signer is healthy, else why not.</summary>
    Task<string?> CheckHealthAsync(CancellationToken cancellationToken = default);
}
