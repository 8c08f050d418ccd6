namespace TrustServer.Testing; internal static class Placeholder { }
