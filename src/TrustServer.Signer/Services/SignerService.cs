using Google.Protobuf;
using Grpc.Core;
using TrustServer.Signing.Keys;
using TrustServer.Signing.Protocol;

namespace TrustServer.Signer.Services;

/// <summary><c>/proto.Signer/Sign</c> with notary-signer's semantics and status codes (spec signer.md §3, Sign).</summary>
internal sealed partial class SignerService(KeyStore keys, ILogger<SignerService> logger) : Signing.Protocol.Signer.SignerBase
{
    public override async Task<Signature> Sign(SignatureRequest request, ServerCallContext context)
    {
        var keyId = request.KeyID?.ID ?? string.Empty;
        StoredKeySignature? signature;
        try
        {
            signature = await keys.SignAsync(keyId, request.Content.Memory, context.CancellationToken);
        }
        catch (KeyStoreException ex)
        {
            // notary-signer's findKeyByID turns every load failure into ErrKeyNotFound, so a key it cannot decrypt is
            // NOT_FOUND on the wire (checked against the real signer by the differential tests).
            LogKeyUnusable(logger, keyId, ex.Message);
            signature = null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogSignFailed(logger, ex, keyId);
            throw new RpcException(new Status(StatusCode.Internal, $"Signing failed for KeyID {keyId}"));
        }

        if (signature is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"signing key not found: {keyId}"));
        }

        LogSigned(logger, keyId, signature.Key.Gun, signature.Key.Role);
        return new Signature
        {
            KeyInfo = Protocol.KeyInfo(signature.Key),
            Algorithm = new Algorithm { Algorithm_ = signature.Method },
            Content = ByteString.CopyFrom(signature.Value),
        };
    }

    [LoggerMessage(EventId = 4011, Level = LogLevel.Warning, Message = "Sign: key {KeyId} cannot be loaded, reported as not found: {Reason}")]
    private static partial void LogKeyUnusable(ILogger logger, string keyId, string reason);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Error, Message = "Sign: signing with key {KeyId} failed")]
    private static partial void LogSignFailed(ILogger logger, Exception exception, string keyId);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Debug, Message = "Sign: signed with key {KeyId} ({Gun} {Role})")]
    private static partial void LogSigned(ILogger logger, string keyId, string gun, string role);
}
