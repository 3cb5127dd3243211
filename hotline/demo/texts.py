"""What is said in the demo tickets: the matters citizens call about (each with the unit
that handles it, the request types and urgencies it comes in, and what the unit does),
the invalid calls, and the notes and replies the staff write. Unit and category codes
refer to hotline.demo.city. Everything here is fictional."""
from __future__ import annotations

# --- the matters citizens call about ----------------------------------------------------
# unit: a unit code, or "@district" for the district of the address (属地).
# co: possible co-units (协办). types: request types (first is the most common).
# urg: possible urgencies. place: whether the matter has an address.
# action: what the unit did (goes into its reply). answer: knowledge-base answer (咨询);
# kb_title: its title when the ticket title has a placeholder (the knowledge base shows no
# ticket's place).
# Placeholders: {addr} {xq} {road} {road2} {street} {days} {shop} {training} {builder}
# {developer} {factory} {money}
# {bill} {line} {tail} {hospital} {school} {date} {months}
ISSUES: list[dict] = [
    dict(cat="CJ-WY-DT", unit="@district", co=("SJ",), types=("help", "complaint"), urg=("normal", "urgent"),
         title="{xq}电梯频繁故障停运",
         content="来电人反映{addr}电梯近{days}天频繁停运，多次出现困人情况，物业维修后仍未解决。楼内有多位"
                 "行动不便的老人，上下楼十分困难，请求相关部门督促物业彻底维修。",
         action="督促物业公司联系维保单位更换电梯控制主板，经特种设备检验机构检测合格后电梯已恢复运行"),
    dict(cat="CJ-WY-DT", unit="@district", co=("SJ",), types=("help",), urg=("urgent", "critical"),
         title="{xq}电梯困人急需救援",
         content="来电人反映{addr}电梯突然停在两层之间，轿厢内有两名老人被困，物业值班电话无人接听，请求紧急救援。",
         action="联系电梯维保单位到场解救被困人员，被困老人身体无碍，电梯已停用检修并张贴告示"),
    dict(cat="CJ-WY-FW", unit="@district", types=("complaint", "help"), urg=("normal",),
         title="{xq}物业服务不到位",
         content="来电人反映{addr}物业公司长期不作为：楼道照明损坏无人维修、绿化无人打理、地下车库积水，"
                 "业主多次向物业反映无果，要求相关部门督促物业整改。",
         action="约谈物业公司负责人，督促其修复楼道照明、清理地下车库积水，并制定整改清单每周向社区报告进度"),
    dict(cat="CJ-WY-ZJ", unit="ZJ", types=("consultation",), urg=("normal",), place=False,
         title="咨询住宅专项维修资金使用流程",
         content="来电人咨询所住小区屋顶漏水，需要动用住宅专项维修资金，想了解申请条件和办理流程。",
         answer="住宅专项维修资金使用需经专有部分面积占比三分之二以上且人数占比三分之二以上的业主参与表决，"
                "并经参与表决业主“双过半”同意；由物业服务企业或业委会编制维修方案，报区住建部门备案后申请划拨。"
                "屋顶漏水等紧急情况可启动应急使用程序。"),
    dict(cat="CJ-FW-BZ", unit="ZJ", types=("consultation",), urg=("normal",), place=False,
         title="咨询公共租赁住房申请条件",
         content="来电人咨询本市公共租赁住房的申请条件、需要准备的材料以及办理地点。",
         answer="申请人需具有本市户籍或在本市稳定就业满一年，家庭人均收入和住房面积符合当年公布的标准；"
                "携带身份证、户口簿、收入证明和住房情况声明到户籍地或工作地街道政务服务中心提交申请，"
                "经审核、公示后轮候配租。"),
    dict(cat="CJ-FW-JF", unit="ZJ", types=("complaint",), urg=("normal",),
         title="{developer}开发楼盘逾期交房",
         content="来电人反映其在{road}购买的“江城壹号院”商品房，合同约定今年6月交房，现已逾期{months}个月仍未交付，"
                 "开发商{developer}拒绝按合同支付逾期违约金，请求主管部门介入。",
         action="约谈开发企业，责令其公布交付时间表，并依合同约定与购房人协商逾期违约金事宜"),
    dict(cat="CJ-FW-ZL", unit="ZJ", types=("help", "complaint"), urg=("normal",),
         title="新交付住房外墙渗水",
         content="来电人反映{addr}新交付住房外墙渗水，卧室墙面大面积发霉，开发商维修两次未见效，请求督促维修。",
         action="组织开发商、施工单位现场勘查，确定渗水点后重新做外墙防水，已经来电人确认不再渗水"),
    dict(cat="CJ-SG-RM", unit="ZJ", co=("HJ",), types=("complaint", "report"), urg=("normal", "urgent"),
         title="{road}工地夜间施工扰民",
         content="来电人反映{road}与{road2}交叉口的建筑工地连续多日夜间施工至凌晨两点，噪音很大，"
                 "周边居民无法休息，请求查处。",
         action="派员夜间现场检查，责令施工单位停止夜间违规作业，并对其作出书面警告，已将该工地列入重点巡查名单"),
    dict(cat="CJ-SG-YC", unit="ZJ", co=("HJ", "CG"), types=("report", "complaint"), urg=("normal",),
         title="{road}建筑工地扬尘污染",
         content="来电人举报{road}一处建筑工地未按规定设置围挡、裸土未覆盖，渣土车带泥上路，扬尘十分严重。",
         action="责令施工单位完善围挡、覆盖裸土并安装车辆冲洗设备，对渣土运输单位立案查处"),
    dict(cat="SR-HW-LJ", unit="@district", co=("CG",), types=("complaint", "help"), urg=("normal",),
         title="{xq}垃圾清运不及时",
         content="来电人反映{addr}门口的垃圾桶已经满溢{days}天无人清运，气味难闻，蚊蝇滋生。",
         action="协调环卫作业单位当日清运垃圾，将该收集点清运频次调整为每日两次，并对收集点进行了消杀"),
    dict(cat="SR-HW-GC", unit="CG", types=("suggestion",), urg=("normal",),
         title="建议在{road}增设公共厕所",
         content="来电人建议在{road}沿线增设公共厕所，该路段商铺和行人较多，附近没有可以使用的公厕。",
         action="已将增设公厕需求纳入明年城市公厕建设计划，近期协调沿街单位厕所对外开放并设置指示牌"),
    dict(cat="SR-RX-ZD", unit="CG", co=("@district",), types=("complaint",), urg=("normal",),
         title="{road}流动摊贩占道经营",
         content="来电人反映每天傍晚{road}{xq}门口都有流动摊贩占道经营，堵塞人行道和消防通道，油烟和垃圾影响居民生活。",
         action="城管中队加强该路段巡查，劝离占道摊贩并引导其进入附近便民疏导点经营"),
    dict(cat="SR-RX-WJ", unit="@district", co=("CG",), types=("report",), urg=("normal",), confidential=0.7,
         title="举报{xq}楼顶违法搭建",
         content="来电人举报{addr}顶楼住户在楼顶私自搭建彩钢板房，存在安全隐患，下雨时楼下住户家中渗水。",
         action="会同城管执法中队现场核查，向当事人下达限期拆除通知书，当事人已自行拆除违建"),
    dict(cat="SR-RX-GG", unit="CG", types=("help",), urg=("urgent", "normal"),
         title="{road}商铺广告牌松动存在安全隐患",
         content="来电人反映{road}一处商铺门头广告牌松动，大风天摇晃明显，担心掉落砸伤行人。",
         action="执法人员到场拉设警戒线，拆除松动广告牌，并督促商户重新设计安装、加固"),
    dict(cat="SC-XF-YF", unit="SJ", types=("complaint",), urg=("normal",),
         title="{shop}关门停业无法退费",
         content="来电人反映其在{shop}办理会员预付卡充值{money}元，现商家突然关门停业，联系不上经营者，请求协助退费。",
         action="联系经营者到场协商，商家承诺分期退还剩余预付款，已登记受损消费者信息并跟踪退款进度"),
    dict(cat="SC-XF-ZL", unit="SJ", types=("complaint",), urg=("normal",),
         title="购买的热水器漏水商家拒不退换",
         content="来电人反映其在{shop}附近一家家电门店购买的电热水器安装一周就漏水，商家以人为损坏为由拒绝退换。",
         action="组织双方调解，商家同意为来电人更换同型号热水器并承担安装费用"),
    dict(cat="SC-XF-JG", unit="SJ", types=("report", "complaint"), urg=("normal",), confidential=0.5,
         title="{shop}标价与结算价格不一致",
         content="来电人举报{shop}货架标价与收银结算价格不一致，结账时多收费用，店员拒绝退还差价。",
         action="执法人员现场检查，发现多处价签未及时更新，责令其整改并退还消费者差价，依法予以警告"),
    dict(cat="SC-SP-CY", unit="SJ", types=("report", "complaint"), urg=("normal", "urgent"), confidential=0.4,
         title="{shop}后厨卫生脏乱",
         content="来电人举报{road}{shop}后厨环境脏乱，食材直接堆放在地上，其家人就餐后出现腹泻症状。",
         action="执法人员现场检查，责令停业整改并依法罚款，已对相关食品抽样送检"),
    dict(cat="SC-SP-GQ", unit="SJ", types=("report",), urg=("normal",),
         title="便利店销售过期食品",
         content="来电人举报{xq}附近一家便利店销售过期牛奶，已超过保质期{days}天，店员拒绝处理。",
         action="执法人员现场下架过期食品，对经营者立案调查并督促其建立进货查验制度"),
    dict(cat="JT-GJ-XL", unit="JT", types=("suggestion",), urg=("normal",), place=False,
         title="建议增加{line}路公交早高峰班次",
         content="来电人建议增加{line}路公交车早高峰班次，目前早上7点至8点发车间隔20多分钟，车内十分拥挤。",
         action="已要求公交集团在早高峰时段增加两台运力，发车间隔缩短至10分钟左右"),
    dict(cat="JT-GJ-FW", unit="JT", types=("complaint",), urg=("normal",),
         title="{line}路公交车过站不停",
         content="来电人反映{date}上午乘坐{line}路公交车，在{road}站驾驶员过站不停，乘客多次示意无果。",
         action="调取车载视频核实情况属实，对驾驶员进行批评教育并扣减当月服务质量考核分"),
    dict(cat="JT-CZ-JZ", unit="JT", types=("complaint",), urg=("normal",),
         title="出租车司机绕路多收费",
         content="来电人反映{date}晚从江城火车站乘坐车牌尾号{tail}的出租车前往{road}，司机故意绕路，比平时多收费近一倍。",
         action="调取车辆行驶轨迹，确认存在绕路行为，已责令出租车公司退还多收费用并对司机停运培训"),
    dict(cat="JT-DL-PS", unit="CG", co=("@district",), types=("help",), urg=("normal", "urgent"),
         title="{road}路面塌陷影响通行",
         content="来电人反映{road}靠近{xq}路段路面塌陷形成大坑，夜间电动车容易摔倒，请求尽快修复。",
         action="市政养护单位当日设置警示标志，次日完成路面修补"),
    dict(cat="HJ-DQ-YY", unit="HJ", co=("CG",), types=("complaint",), urg=("normal",),
         title="{shop}油烟直排扰民",
         content="来电人反映{addr}楼下的{shop}未安装油烟净化设施，油烟直排进入居民家中，无法开窗。",
         action="现场检查发现油烟净化器未正常运行，责令商户清洗并规范使用，经复查已整改到位"),
    dict(cat="HJ-DQ-FQ", unit="HJ", types=("report",), urg=("normal", "urgent"), confidential=0.8,
         title="举报{factory}夜间偷排废气",
         content="来电人举报{road}附近的{factory}夜间排放刺鼻气体，周边居民出现头晕、恶心症状。",
         action="执法人员夜间突击检查并开展监测，对该企业超标排放行为立案查处，责令停产整治"),
    dict(cat="HJ-ZS-SH", unit="@district", types=("complaint",), urg=("normal",),
         title="{xq}广场舞音响扰民",
         content="来电人反映每天晚上{xq}中心广场跳广场舞的音响音量过大，常持续到晚上十点以后，影响学生学习和老人休息。",
         action="社区工作人员与广场舞队负责人沟通，约定活动时间和音量，并为其配发了定向音响"),
    dict(cat="HJ-SW-HD", unit="HJ", co=("@district",), types=("report", "complaint"), urg=("normal",),
         title="{road}附近河道发黑发臭",
         content="来电人反映{road}附近的东湖港河道水体发黑发臭，疑似有排污口直排污水。",
         action="排查发现一处雨污混接排口，已完成封堵改造，并对该段河道开展清淤"),
    dict(cat="LD-GX-QX", unit="RS", types=("help", "complaint"), urg=("normal", "urgent"),
         title="{builder}拖欠务工人员工资",
         content="来电人反映其在{builder}承建的{road}项目务工，被拖欠{months}个月工资共计{money}元，多次讨要无果。",
         action="劳动保障监察大队约谈施工企业，督促其通过农民工工资专户足额支付被拖欠工资"),
    dict(cat="LD-GX-HT", unit="RS", types=("consultation",), urg=("normal",), place=False,
         title="咨询试用期被辞退能否获得补偿",
         content="来电人咨询在试用期内被公司以“不合适”为由辞退，能否要求经济补偿。",
         answer="用人单位在试用期内解除劳动合同，须证明劳动者不符合录用条件并说明理由；违法解除的，劳动者可要求"
                "继续履行劳动合同或支付赔偿金。可向劳动人事争议仲裁委员会申请仲裁，也可拨打12333咨询。"),
    dict(cat="LD-SB-YL", unit="RS", types=("consultation",), urg=("normal",), place=False,
         title="咨询养老保险跨省转移接续",
         content="来电人咨询在外省缴纳的养老保险如何转入本市，需要本人跑几次。",
         answer="可通过国家社会保险公共服务平台或“掌上12333”APP在线提交转移申请，也可携带身份证到参保地社保经办"
                "机构办理，转入地审核后办理接续手续，全程无需本人往返两地。"),
    dict(cat="LD-SB-SBK", unit="RS", types=("help",), urg=("normal",),
         title="社保卡补办长时间未领到",
         content="来电人反映{days}天前在{street}政务服务中心申请补办社保卡，至今未收到领卡短信，请求帮助查询进度。",
         action="核查发现制卡信息照片不合格被退回，已联系来电人重新采集照片并加急制卡"),
    dict(cat="GG-GS-TS", unit="WATER", types=("help", "complaint"), urg=("urgent", "normal", "critical"),
         title="{xq}突然停水",
         content="来电人反映{addr}从今天早上开始停水，事先没有接到任何停水通知，居民生活受到影响，请求尽快恢复供水。",
         action="经查系小区供水主管爆裂，抢修人员当日完成抢修恢复供水，抢修期间安排送水车供水"),
    dict(cat="GG-GS-SY", unit="WATER", types=("help",), urg=("normal",),
         title="{xq}高层住户水压不足",
         content="来电人反映{addr}高层住户长期水压不足，早晚用水高峰时燃气热水器无法启动。",
         action="检测二次供水设备，更换老化水泵并调整加压参数，水压已恢复正常"),
    dict(cat="GG-GS-SZ", unit="WATER", co=("HJ",), types=("complaint",), urg=("normal", "urgent"),
         title="自来水发黄有异味",
         content="来电人反映{addr}自来水发黄并有异味，已持续{days}天，不敢饮用。",
         action="对小区管网进行冲洗并取水样检测，检测结果符合国家生活饮用水卫生标准，已向居民公示"),
    dict(cat="GG-GD-TD", unit="POWER", types=("help", "complaint"), urg=("normal", "urgent", "critical"),
         title="{xq}频繁停电",
         content="来电人反映{addr}近一周频繁停电，家中冰箱食物变质，请求供电部门排查原因。",
         action="排查发现小区配电变压器过载，已更换大容量变压器并对线路进行检修"),
    dict(cat="GG-GD-DF", unit="POWER", types=("complaint", "consultation"), urg=("normal",),
         title="电费突然大幅增加要求核查",
         content="来电人反映{addr}家中上月电费{bill}元，比往月高出数倍，怀疑电能表故障。",
         action="上门校验电能表，误差在允许范围内，并向来电人解释了阶梯电价计费方式和用电明细"),
    dict(cat="GG-GQ-XL", unit="GAS", types=("help",), urg=("critical", "urgent"),
         title="{xq}楼道有燃气味",
         content="来电人反映{addr}楼道内有明显燃气味，担心发生泄漏，请求尽快派人检查。",
         action="抢修人员到场检测，发现楼道立管接口泄漏，已关阀并更换密封件，复检无泄漏"),
    dict(cat="GG-GQ-KT", unit="GAS", types=("consultation",), urg=("normal",), place=False,
         title="咨询新房燃气开户通气流程",
         content="来电人咨询新购住房如何办理燃气开户和通气点火。",
         answer="携带房产证明和身份证到燃气集团营业厅，或通过“江城燃气”微信公众号在线申请开户，"
                "缴费后约3个工作日安排人员上门通气点火。"),
    dict(cat="JY-RX-YW", unit="JY", types=("consultation",), urg=("normal",),
         title="咨询{xq}对应的小学学区",
         kb_title="小学学区划分及一年级报名时间",
         content="来电人咨询{xq}对应的小学学区划分以及明年一年级的报名时间。",
         answer="义务教育阶段实行划片招生，学区划分以当年区教育局公布为准，一般在每年5月公布；"
                "可登录江城市义务教育招生服务平台查询，报名一般在6月上旬进行。"),
    dict(cat="JY-PX-TF", unit="JY", co=("SJ",), types=("complaint",), urg=("normal",),
         title="{training}停课后拒绝退费",
         content="来电人反映为孩子在{training}报名课外培训，缴费{money}元，上了两次课后机构停课，拒绝退还剩余费用。",
         action="约谈培训机构负责人，责令其按规定退还剩余课时费用，已退费到账"),
    dict(cat="JY-XX-AQ", unit="JY", co=("JT",), types=("suggestion",), urg=("normal",),
         title="建议{school}放学时段加强交通疏导",
         content="来电人反映{school}放学时校门口接孩子的车辆乱停乱放，交通十分拥堵，存在安全隐患，建议加强疏导。",
         action="协调学校在放学时段安排护学岗，并联系交警部门增设临时停车区"),
    dict(cat="YL-FW-TD", unit="WJ", types=("complaint",), urg=("normal",), place=False,
         title="{hospital}挂号窗口服务态度差",
         content="来电人反映{date}在{hospital}就诊时，挂号窗口工作人员态度恶劣，对老人询问不予理睬。",
         action="经医院调查核实，已对当事工作人员进行批评教育，并由科室负责人向来电人致歉"),
    dict(cat="YL-FW-SF", unit="WJ", types=("report", "complaint"), urg=("normal",), place=False,
         confidential=0.5,
         title="{hospital}住院费用重复收费",
         content="来电人举报其家人在{hospital}住院期间，费用清单中同一检查项目被重复收费。",
         action="核查费用清单确认存在重复计费，医院已退还多收费用并对收费科室进行通报"),
    dict(cat="YL-GW-YM", unit="WJ", types=("consultation",), urg=("normal",), place=False,
         title="咨询九价HPV疫苗预约方式",
         content="来电人咨询九价HPV疫苗在哪里预约、需要带什么证件。",
         answer="可通过“健康江城”微信公众号选择就近的社区卫生服务中心预约接种，9至45岁女性均可预约，"
                "接种时请携带身份证和预防接种证。"),
    dict(cat="QT-BY", unit="@district", types=("praise",), urg=("normal",),
         title="表扬{street}网格员热心服务",
         content="来电人表扬{street}网格员主动上门帮助独居老人办理医保报销，服务热情周到，希望予以表彰。",
         action="已将来电人的表扬转达当事网格员，并在街道内部通报表扬"),
    dict(cat="QT-BY", unit="WATER", types=("praise",), urg=("normal",),
         title="表扬自来水公司抢修人员",
         content="来电人表扬市自来水公司抢修人员冒雨连夜抢修{road}爆裂水管，保障了周边居民正常用水。",
         action="已将市民的表扬转达抢修班组，并在公司内部通报表扬"),
    dict(cat="QT-QT", unit="@district", types=("other", "suggestion"), urg=("normal",),
         title="{xq}周边缺少便民菜市场",
         content="来电人反映{xq}周边三公里内没有菜市场，居民买菜很不方便，希望规划建设便民市场。",
         action="已将建设需求纳入便民服务设施规划，近期引入便民售菜车每日定时定点服务"),
    dict(cat="QT-QT", unit="@district", co=("CG",), types=("other",), urg=("normal",),
         title="{road}共享单车乱停乱放",
         content="来电人反映{road}人行道上共享单车大量堆积，行人无法通行，盲道也被占用。",
         action="联系共享单车运营企业清运堆积车辆，并在该路段施划停放区域"),
]

#: Tickets that end as invalid (无效工单): (title, content, reason).
INVALID_CALLS = [
    ("来电无实质诉求", "来电人接通后未说明具体诉求，多次询问后挂断电话。", "来电人未提出具体诉求，无法受理"),
    ("咨询彩票开奖结果", "来电人咨询本期彩票开奖号码。", "不属于政务服务范围，已告知来电人自行查询"),
    ("反复来电无具体事项", "来电人当天多次来电，情绪激动，未能说明所反映事项和地点。", "诉求不明确且无法核实，按无效工单处理"),
    ("误拨热线", "来电人表示拨错号码，本想拨打快递公司客服电话。", "来电人误拨，无诉求"),
]

REPLY_TEMPLATES = [
    "经核查，来电人反映的“{title}”问题属实。我单位于{date}派员到现场处理：{action}。已电话联系来电人告知办理结果。",
    "收到工单后，我单位高度重视，立即组织人员核实处理。经查，情况基本属实，{action}。已与来电人沟通，来电人表示认可。",
    "我单位已安排专人办理：{action}。下一步将加强日常巡查，防止问题反弹。已电话告知来电人。",
]
CONSULT_REPLY = "已电话联系来电人进行解答：{answer}来电人表示清楚。"
SECOND_REPLY_PREFIX = "补充答复："
SECOND_ROUND_REPLY = "重新办理情况：我单位主要负责同志带队再次到现场核查，{action}，并当面向来电人说明情况，来电人表示认可。"

REVIEW_REJECT_NOTES = [
    "答复内容过于简单，未说明具体处理措施和完成时限，请补充后重新反馈",
    "未与来电人联系沟通，请联系来电人了解诉求后重新反馈",
    "答复与诉求不对应，请针对来电人反映的问题逐项答复",
]

RETURN_TEXTS = {
    "not_our_duty": "经核实，该事项不属于我单位职责范围，建议改派相关职能部门办理。",
    "wrong_area": "经核实，事发地址不在我辖区范围内，属地不符，请改派。",
    "unclear_ownership": "该处设施产权单位不明确，涉及多个部门，建议由属地政府牵头办理。",
}
OVERRULE_NOTES = [
    "经核实，根据《江城市12345热线承办单位职责清单》，该事项属你单位职责，请按时办理",
    "退单理由不成立，该事项属你单位牵头办理，相关单位可请求配合",
]
REDISPATCH_NOTE = "根据承办单位退单意见，改派{unit}办理"

EXTENSION_REASONS = [
    "需协调多个部门联合现场勘查，办理周期较长，申请延期",
    "涉及维修资金使用，需组织业主表决，申请延期",
    "需等待第三方检测机构出具检测报告，申请延期",
    "涉及历史遗留问题，需调取档案资料核实，申请延期",
]
APPROVE_NOTE = "同意延期，请在延期期限内办结并及时反馈"
REFUSE_NOTES = ["该事项不属于复杂疑难事项，请按原时限办结", "延期理由不充分，请按原时限办理"]

HAND_DOWN_NOTES = ["请属地核实处理并于时限内反馈", "请社区网格员上门核实", ""]
DISPATCH_NOTES_URGENT = "紧急工单，请立即处置并及时反馈"

CALLBACK_FAIL_NOTES = ["无人接听", "电话关机", "占线", "来电人表示在忙，稍后再联系"]
SATISFIED_WORDS = ["问题已经解决了，感谢热线和相关部门", "处理得很及时，很满意", "工作人员态度很好，问题解决了",
                   "基本解决了，希望以后加强管理", ""]
UNSATISFIED_WORDS = ["说是处理了，其实根本没人来看过", "问题还是老样子，没有解决", "只打了个电话，没有实际解决问题",
                     "处理了两天又恢复原样了"]
REOPEN_NOTE = "回访不满意（{words}）。请承办单位重新办理，五个工作日内反馈结果，办理期间每周报告进展。"
MERGE_NOTE = "与工单 {number} 反映同一问题，并单处理"
