// A JMX client for the jvm jmx test: connects to the URL given (with USER and
// PASSWORD when given), reads the Runtime MBean's Uptime and VM name, prints
// "UPTIME <ms> <vm name>". A refused login prints "REFUSED <reason>" and
// exits 3, so the test can tell it from any other failure.
import java.util.HashMap;
import java.util.Map;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

public final class JmxUptime {
  public static void main(String[] args) throws Exception {
    JMXServiceURL url = new JMXServiceURL(args[0]);
    Map<String, Object> env = new HashMap<>();
    if (args.length >= 3) env.put(JMXConnector.CREDENTIALS, new String[] {args[1], args[2]});
    JMXConnector c;
    try {
      c = JMXConnectorFactory.connect(url, env);
    } catch (SecurityException e) {
      System.out.println("REFUSED " + e.getMessage());
      System.exit(3);
      return;
    }
    try (c) {
      MBeanServerConnection mbs = c.getMBeanServerConnection();
      ObjectName rt = new ObjectName("java.lang:type=Runtime");
      Object uptime = mbs.getAttribute(rt, "Uptime");
      Object name = mbs.getAttribute(rt, "VmName");
      System.out.println("UPTIME " + uptime + " " + name);
    }
  }
}
