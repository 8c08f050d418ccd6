using Grpc.Core;
using Grpc.Core.Interceptors;
using TrustServer.Signing.Protocol;

namespace TrustServer.Signer.Services;

/// <summary>
/// Bounds the caller-supplied strings of every RPC before a service sees them: a key ID, GUN, role or algorithm longer
/// than <see cref="MaxFieldLength"/> is answered INVALID_ARGUMENT with a message that names the field and its length,
/// never the value, so that oversized input reaches neither the key database, nor error details, nor logs.
/// </summary>
/// <remarks>
/// The bound is notary-signer's column size (<c>key_id</c>, <c>gun</c>, <c>role</c>: <c>varchar(255)</c>, signer.md
/// §5), so nothing notary-signer could store is refused. notary-signer itself has no such check: it answers a longer
/// key ID NOT_FOUND (echoing it) and fails a CreateKey with a longer GUN or role as INTERNAL on PostgreSQL.
/// Lengths are in UTF-16 code units, which is never fewer than PostgreSQL's characters.
/// </remarks>
internal sealed partial class RequestLimitsInterceptor(ILogger<RequestLimitsInterceptor> logger) : Interceptor
{
    /// <summary>The longest key ID, GUN, role or algorithm accepted.</summary>
    public const int MaxFieldLength = 255;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        switch (request)
        {
            case CreateKeyRequest create:
                Check(context, "algorithm", create.Algorithm);
                Check(context, "gun", create.Gun);
                Check(context, "role", create.Role);
                break;
            case KeyID key:
                Check(context, "key ID", key.ID);
                break;
            case SignatureRequest sign when sign.KeyID is not null:
                Check(context, "key ID", sign.KeyID.ID);
                break;
        }

        return continuation(request, context);
    }

    private void Check(ServerCallContext context, string field, string value)
    {
        if (value.Length > MaxFieldLength)
        {
            LogRejected(logger, context.Method, field, value.Length);
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} is too long: {value.Length} characters, at most {MaxFieldLength}"));
        }
    }

    [LoggerMessage(EventId = 4021, Level = LogLevel.Warning, Message = "{Method}: rejected a {Field} of {Length} characters")]
    private static partial void LogRejected(ILogger logger, string method, string field, int length);
}
