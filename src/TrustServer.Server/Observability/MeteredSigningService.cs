using System.Diagnostics;
using TrustServer.Signing;
using TrustServer.Tuf.Keys;
using TrustServer.Tuf.Metadata;

namespace TrustServer.Server.Observability;

/// <summary>
/// Counts calls to the signing service and their failures (<c>trustserver_signer_calls_total</c>) and times signing
/// (<c>trustserver_publish_phase_seconds{phase="sign"}</c>); a decorator of the registered <see cref="ISigningService"/>.
/// </summary>
internal sealed class MeteredSigningService(ISigningService inner, TrustServerMetrics metrics) : ISigningService
{
    public Task<TufPublicKey> CreateKeyAsync(string gun, string role, string algorithm, CancellationToken cancellationToken = default) =>
        MeasureAsync("create_key", () => inner.CreateKeyAsync(gun, role, algorithm, cancellationToken));

    public Task<ServerKeyInfo?> GetKeyInfoAsync(string keyId, CancellationToken cancellationToken = default) =>
        MeasureAsync("get_key_info", () => inner.GetKeyInfoAsync(keyId, cancellationToken));

    public async ValueTask<IReadOnlyList<TufSignature>> SignAsync(
        string gun, string role, IReadOnlyList<TufPublicKey> keys, ReadOnlyMemory<byte> canonicalBody, CancellationToken cancellationToken) =>
        await MeasureAsync("sign", () => inner.SignAsync(gun, role, keys, canonicalBody, cancellationToken).AsTask());

    private async Task<T> MeasureAsync<T>(string operation, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var result = await call();
            metrics.SignerCalls.WithLabels(operation, "ok").Inc();
            if (operation == "sign")
            {
                metrics.PublishPhases.WithLabels("sign").Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
            }

            return result;
        }
        catch
        {
            metrics.SignerCalls.WithLabels(operation, "failed").Inc();
            throw;
        }
    }
}
