using Grpc.Core;
using Grpc.Health.V1;

namespace TrustServer.Signer.Services;

/// <summary>
/// <c>grpc.health.v1.Health</c> as notary-signer answers it (spec signer.md §4): the overall service (<c>""</c>) and
/// the two names notary-server checks are SERVING for the life of the process; any other name is NOT_FOUND
/// <c>unknown service</c>, grpc-go's health server's answer. (Grpc.HealthCheck's implementation sends an empty message.)
/// </summary>
internal sealed class HealthService : Health.HealthBase
{
    /// <summary>The names notary-server's health check asks for (notary's const.go).</summary>
    public static readonly IReadOnlySet<string> ServingNames = new HashSet<string>(StringComparer.Ordinal)
    {
        string.Empty,
        "grpc.health.v1.Health.KeyManagement",
        "grpc.health.v1.Health.Signer",
    };

    public override Task<HealthCheckResponse> Check(HealthCheckRequest request, ServerCallContext context) =>
        ServingNames.Contains(request.Service)
            ? Task.FromResult(new HealthCheckResponse { Status = HealthCheckResponse.Types.ServingStatus.Serving })
            : throw new RpcException(new Status(StatusCode.NotFound, "unknown service"));

    public override async Task Watch(HealthCheckRequest request, IServerStreamWriter<HealthCheckResponse> responseStream, ServerCallContext context)
    {
        // grpc-go: SERVICE_UNKNOWN for unknown names (not an error), then updates; ours never change.
        var status = ServingNames.Contains(request.Service)
            ? HealthCheckResponse.Types.ServingStatus.Serving
            : HealthCheckResponse.Types.ServingStatus.ServiceUnknown;
        await responseStream.WriteAsync(new HealthCheckResponse { Status = status }, context.CancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Client went away or the server stops.
        }
    }
}
