using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using TrustServer.Testing;

namespace TrustServer.Signer.Tests.Support;

/// <summary>gRPC channels to a signer: mutual TLS with a chosen client certificate (or none), or plaintext.</summary>
public static class SignerChannels
{
    public static GrpcChannel Create(string url, SignerCertificates certificates, TestCertificate? clientCertificate)
    {
        var ssl = new SslClientAuthenticationOptions
        {
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                certificate is X509Certificate2 server && certificates.ValidateServer(server, (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0),
        };
        if (clientCertificate is not null)
        {
            ssl.ClientCertificates = [clientCertificate.Certificate];
        }

        var handler = new SocketsHttpHandler { SslOptions = ssl, ConnectTimeout = TimeSpan.FromSeconds(5) };
        return GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    public static GrpcChannel CreatePlaintext(string url) =>
        GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler(), DisposeHttpClient = true });
}
