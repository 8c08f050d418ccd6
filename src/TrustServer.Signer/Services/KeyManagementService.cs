using Google.Protobuf;
using Grpc.Core;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Keys.Pkcs11;
using TrustServer.Signing.Protocol;
using Void = TrustServer.Signing.Protocol.Void;

namespace TrustServer.Signer.Services;

/// <summary>
/// <c>/proto.KeyManagement/*</c> with notary-signer's semantics and status codes (spec signer.md §3,
/// <c>signer/api/rpc_api.go</c>).
/// </summary>
internal sealed partial class KeyManagementService(KeyStore keys, ILogger<KeyManagementService> logger) : KeyManagement.KeyManagementBase
{
    public override async Task<PublicKey> CreateKey(CreateKeyRequest request, ServerCallContext context)
    {
        if (!KeyStore.IsSupportedAlgorithm(request.Algorithm))
        {
            // notary-signer returns a plain Go error here, which grpc-go sends as UNKNOWN (observed).
            LogUnsupportedAlgorithm(logger, request.Algorithm);
            throw new RpcException(new Status(StatusCode.Unknown, $"algorithm {request.Algorithm} not supported for create key"));
        }

        StoredKey key;
        try
        {
            key = await keys.CreateKeyAsync(request.Gun, request.Role, request.Algorithm, context.CancellationToken);
        }
        catch (KeyAlgorithmNotSupportedException ex)
        {
            // As for an algorithm the signer never supports: UNKNOWN, with the token's reason.
            LogUnsupportedAlgorithm(logger, request.Algorithm);
            throw new RpcException(new Status(StatusCode.Unknown, ex.Message));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCreateFailed(logger, ex, request.Gun, request.Role, request.Algorithm);
            throw new RpcException(new Status(StatusCode.Internal, "Key creation failed"));
        }

        return new PublicKey { KeyInfo = Protocol.KeyInfo(key), PublicKey_ = ByteString.CopyFrom(key.Public) };
    }

    public override async Task<GetKeyInfoResponse> GetKeyInfo(KeyID request, ServerCallContext context)
    {
        StoredKey? key;
        try
        {
            key = await keys.GetKeyInfoAsync(request.ID, context.CancellationToken);
        }
        catch (KeyStoreException ex)
        {
            // notary-signer's lookup ignores per-store errors: a key it cannot load is "not found" (signer.md §3).
            LogKeyUnusable(logger, request.ID, ex.Message);
            key = null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Deliberate difference: a database failure is INTERNAL here (notary-signer says NOT_FOUND), so that a
            // caller never mistakes an outage for "this signer does not hold the key".
            LogLookupFailed(logger, ex, request.ID);
            throw new RpcException(new Status(StatusCode.Internal, $"key {request.ID} lookup failed"));
        }

        if (key is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"key {request.ID} not found"));
        }

        return new GetKeyInfoResponse { KeyInfo = Protocol.KeyInfo(key), PublicKey = ByteString.CopyFrom(key.Public), Role = key.Role };
    }

    public override async Task<Void> DeleteKey(KeyID request, ServerCallContext context)
    {
        try
        {
            await keys.DeleteKeyAsync(request.ID, context.CancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogDeleteFailed(logger, ex, request.ID);
            throw new RpcException(new Status(StatusCode.Internal, $"Key deletion for KeyID {request.ID} failed"));
        }

        LogDeleted(logger, request.ID);
        return new Void();
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "CreateKey: unsupported algorithm {Algorithm}")]
    private static partial void LogUnsupportedAlgorithm(ILogger logger, string algorithm);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Error, Message = "CreateKey: failed to create a {Algorithm} key for {Gun} {Role}")]
    private static partial void LogCreateFailed(ILogger logger, Exception exception, string gun, string role, string algorithm);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "GetKeyInfo: key {KeyId} cannot be loaded, reported as not found: {Reason}")]
    private static partial void LogKeyUnusable(ILogger logger, string keyId, string reason);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "GetKeyInfo: lookup of key {KeyId} failed")]
    private static partial void LogLookupFailed(ILogger logger, Exception exception, string keyId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Error, Message = "DeleteKey: deleting key {KeyId} failed")]
    private static partial void LogDeleteFailed(ILogger logger, Exception exception, string keyId);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Information, Message = "DeleteKey: deleted key {KeyId}")]
    private static partial void LogDeleted(ILogger logger, string keyId);
}
