// Loaded by sonde-agent into a running JVM through the attach mechanism, just
// before it starts the management agent: the RMI stub that the JMX registry
// hands out names java.rmi.server.hostname, and through a port forward that
// has to be the client's end of the tunnel (127.0.0.1), not the host's own
// address.
package sonde.jmx;

public final class RmiHostAgent {
  private RmiHostAgent() {}

  public static void agentmain(String host) {
    if (host != null && !host.isEmpty()) {
      System.setProperty("java.rmi.server.hostname", host);
    }
  }
}
