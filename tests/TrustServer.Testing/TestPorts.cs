using System.Net;
using System.Net.Sockets;

namespace TrustServer.Testing;

/// <summary>Free TCP ports on the loopback interface for servers started by tests.</summary>
public static class TestPorts
{
    /// <summary>
    /// Returns a TCP port on 127.0.0.1 that was free a moment ago (the OS picked it for a listener that was then
    /// closed). Another process can still take it before the caller binds it, so callers that start a server
    /// should retry with a new port when binding fails.
    /// </summary>
    /// <returns>A port number in the ephemeral range.</returns>
    public static int GetFreeTcpPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
